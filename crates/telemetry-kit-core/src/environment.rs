//! The `environment` facts of an event (DESIGN.md §4): OS, OS version, CPU architecture and
//! shell, spelled as the TS backend spells them. Mirrors `platformInfo` and `detectShell` of
//! `packages/core/src/node/node-runtime.ts`; CI detection lives in [`crate::ci`].
//!
//! Also home to [`Env`], the environment abstraction shared by `ci`, `gate` and this module.

use std::collections::HashMap;

use crate::ci::detect_ci;
use crate::types::EnvironmentInfo;

/// The process environment as the Node binding hands it over (`process.env` as a map).
pub type Env = HashMap<String, String>;

/// Looks `name` up the way `process.env.NAME` does: exact on Unix; on Windows, where Node's
/// `process.env` ignores case, an exact match first and then any case.
pub fn env_var<'a>(env: &'a Env, name: &str) -> Option<&'a str> {
    if let Some(value) = env.get(name) {
        return Some(value);
    }
    if cfg!(windows) {
        return env
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str());
    }
    None
}

/// Environment facts except CI, which [`crate::ci::detect_ci`] derives from the same `env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformInfo {
    pub os: String,
    pub os_version: String,
    pub arch: String,
    pub shell: Option<String>,
}

/// What `platformInfo()` of the Node runtime returns, minus `languageVersion` (the binding
/// knows Node's version, this crate does not).
pub fn platform_info(env: &Env) -> PlatformInfo {
    let os = os_name();
    PlatformInfo {
        os: os.to_owned(),
        os_version: os_release(),
        arch: arch_name().to_owned(),
        shell: detect_shell(env, os),
    }
}

/// The whole `environment` object of an event: [`platform_info`] plus [`detect_ci`].
pub fn environment_info(env: &Env) -> EnvironmentInfo {
    let platform = platform_info(env);
    let ci = detect_ci(env);
    EnvironmentInfo {
        os: platform.os,
        os_version: platform.os_version,
        arch: platform.arch,
        ci: ci.ci,
        ci_name: ci.ci_name,
        shell: platform.shell,
    }
}

/// The OS as Rust's standard library names it. The TS backend maps Node's names onto these
/// (`darwin` → `macos`, `win32` → `windows`, `sunos` → `solaris`); Node reports illumos as
/// `sunos` too, hence the one mapping needed here.
pub fn os_name() -> &'static str {
    match std::env::consts::OS {
        "illumos" => "solaris",
        other => other,
    }
}

/// The CPU architecture as Node's `process.arch` names it.
pub fn arch_name() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        "x86" => "ia32",
        "powerpc64" => "ppc64",
        "powerpc" => "ppc",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The kernel release, what Node's `os.release()` returns (`uname -r`); `"unknown"` when
/// `uname` fails.
#[cfg(unix)]
pub fn os_release() -> String {
    // SAFETY: `utsname` is plain old data, so all-zero is a valid value, and `uname` only
    // writes into the struct it is given.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return "unknown".to_owned();
    }
    // Stop at the NUL without trusting it to be there: never read past the array.
    let bytes: Vec<u8> = uts
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Node reports the Windows build (`10.0.22631`); reading it needs an API this crate does not
/// bind, so the native backend says `"unknown"`.
#[cfg(not(unix))]
pub fn os_release() -> String {
    "unknown".to_owned()
}

/// The user's shell from `SHELL`, else on Windows PowerShell or `ComSpec`; `None` when unknown.
/// `os` is an [`os_name`] value: it selects Windows rules, as `process.platform` does in TS.
pub fn detect_shell(env: &Env, os: &str) -> Option<String> {
    let windows = os == "windows";
    if let Some(shell) = env_var(env, "SHELL").filter(|s| !s.is_empty()) {
        return Some(strip_exe(node_basename(shell, windows)).to_owned());
    }
    if windows {
        // PowerShell puts its module path first; cmd.exe is the fallback ComSpec.
        if env_var(env, "PSModulePath").is_some_and(|p| p.contains("Documents")) {
            return Some("powershell".to_owned());
        }
        if let Some(comspec) = env_var(env, "ComSpec").filter(|s| !s.is_empty()) {
            let slashed = comspec.replace('\\', "/");
            return Some(strip_exe(node_basename(&slashed, true)).to_lowercase());
        }
    }
    None
}

/// `path.basename` of Node: POSIX rules, or with `windows` the win32 rules (both separators,
/// and a leading drive `C:` is never part of the name). Trailing separators are ignored.
fn node_basename(path: &str, windows: bool) -> &str {
    let bytes = path.as_bytes();
    let is_separator = |b: u8| b == b'/' || (windows && b == b'\\');
    let mut start =
        if windows && bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
            2
        } else {
            0
        };
    let mut end = None;
    for i in (start..bytes.len()).rev() {
        if is_separator(bytes[i]) {
            if end.is_some() {
                start = i + 1;
                break;
            }
        } else if end.is_none() {
            end = Some(i + 1);
        }
    }
    // Both ends sit next to ASCII separators or at the ends, so they are char boundaries.
    end.and_then(|end| path.get(start..end)).unwrap_or("")
}

/// `.replace(/\.exe$/i, '')`
fn strip_exe(name: &str) -> &str {
    let cut = name.len().saturating_sub(4);
    match name.get(cut..) {
        Some(suffix) if suffix.eq_ignore_ascii_case(".exe") => &name[..cut],
        _ => name,
    }
}

/// An environment from literal pairs, for the tests of every module that reads one.
#[cfg(test)]
pub(crate) fn env_of(pairs: &[(&str, &str)]) -> Env {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        env_of(pairs)
    }

    #[test]
    fn basename_follows_node_path_rules() {
        assert_eq!(node_basename("/bin/bash", false), "bash");
        assert_eq!(node_basename("/bin/bash/", false), "bash");
        assert_eq!(node_basename("bash", false), "bash");
        assert_eq!(node_basename("/", false), "");
        assert_eq!(node_basename("", false), "");
        assert_eq!(
            node_basename("C:\\Program Files\\Git\\bin\\bash.exe", false),
            "C:\\Program Files\\Git\\bin\\bash.exe"
        );
        assert_eq!(
            node_basename("C:\\Program Files\\Git\\bin\\bash.exe", true),
            "bash.exe"
        );
        assert_eq!(node_basename("C:bash", true), "bash");
        assert_eq!(node_basename("C:\\", true), "");
        assert_eq!(node_basename("/usr/bin/fish\\", true), "fish");
    }

    #[test]
    fn shell_from_shell_variable() {
        assert_eq!(
            detect_shell(&env(&[("SHELL", "/bin/zsh")]), "linux").as_deref(),
            Some("zsh")
        );
        assert_eq!(
            detect_shell(&env(&[("SHELL", "/usr/bin/BASH.EXE")]), "linux").as_deref(),
            Some("BASH")
        );
        assert_eq!(
            detect_shell(&env(&[("SHELL", "/")]), "linux").as_deref(),
            Some("")
        );
        assert_eq!(detect_shell(&env(&[("SHELL", "")]), "linux"), None);
        assert_eq!(detect_shell(&env(&[]), "linux"), None);
        assert_eq!(
            detect_shell(
                &env(&[("SHELL", "/usr/bin/bash"), ("ComSpec", "cmd.exe")]),
                "windows"
            )
            .as_deref(),
            Some("bash")
        );
    }

    #[test]
    fn windows_only_rules_need_windows() {
        let ps = env(&[
            (
                "PSModulePath",
                "C:\\Users\\a\\Documents\\PowerShell\\Modules",
            ),
            ("ComSpec", "C:\\WINDOWS\\system32\\cmd.exe"),
        ]);
        assert_eq!(detect_shell(&ps, "windows").as_deref(), Some("powershell"));
        assert_eq!(detect_shell(&ps, "linux"), None);
        let cmd = env(&[
            (
                "PSModulePath",
                "C:\\Program Files\\WindowsPowerShell\\Modules",
            ),
            ("ComSpec", "C:\\WINDOWS\\system32\\CMD.EXE"),
        ]);
        assert_eq!(detect_shell(&cmd, "windows").as_deref(), Some("cmd"));
    }

    #[test]
    fn platform_names_match_node() {
        let info = platform_info(&env(&[("SHELL", "/bin/sh")]));
        assert_eq!(info.shell.as_deref(), Some("sh"));
        assert!(!info.os.is_empty() && !info.os_version.is_empty());
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!((info.os.as_str(), info.arch.as_str()), ("linux", "x64"));
        }
        if cfg!(all(target_os = "macos", target_arch = "aarch64")) {
            assert_eq!((info.os.as_str(), info.arch.as_str()), ("macos", "arm64"));
        }
        if cfg!(target_os = "linux") {
            // Linux releases look like `6.1.0-18-amd64`: a digit first, never the placeholder.
            assert!(
                info.os_version.starts_with(|c: char| c.is_ascii_digit()),
                "{}",
                info.os_version
            );
        }
    }

    #[test]
    fn environment_info_combines_platform_and_ci() {
        let info = environment_info(&env(&[("GITLAB_CI", "true")]));
        assert!(info.ci);
        assert_eq!(info.ci_name.as_deref(), Some("gitlab"));
        assert_eq!(info.os, os_name());
        assert_eq!(info.arch, arch_name());
    }

    #[test]
    fn strip_exe_is_case_insensitive_and_only_at_the_end() {
        assert_eq!(strip_exe("pwsh.exe"), "pwsh");
        assert_eq!(strip_exe("pwsh.Exe"), "pwsh");
        assert_eq!(strip_exe("a.exe.b"), "a.exe.b");
        assert_eq!(strip_exe(".exe"), "");
        assert_eq!(strip_exe("é"), "é");
    }
}
