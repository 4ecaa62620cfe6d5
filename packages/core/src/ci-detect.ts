/**
 * CI detection from well-known environment variables. Order matters: specific providers are
 * checked before the generic `CI` variable, which many of them also set.
 */
import type { EnvVars } from './runtime.js';

const PROVIDERS: ReadonlyArray<readonly [variable: string, name: string]> = [
  ['GITHUB_ACTIONS', 'github_actions'],
  ['GITLAB_CI', 'gitlab'],
  ['BUILDKITE', 'buildkite'],
  ['CIRCLECI', 'circleci'],
  ['TRAVIS', 'travis'],
  ['JENKINS_URL', 'jenkins'],
  ['TF_BUILD', 'azure_pipelines'],
  ['BITBUCKET_BUILD_NUMBER', 'bitbucket'],
  ['TEAMCITY_VERSION', 'teamcity'],
  ['APPVEYOR', 'appveyor'],
  ['CODEBUILD_BUILD_ID', 'aws_codebuild'],
  ['DRONE', 'drone'],
  ['SEMAPHORE', 'semaphore'],
  ['BITRISE_IO', 'bitrise'],
  ['BUDDY', 'buddy'],
  ['CF_PAGES', 'cloudflare_pages'],
  ['NETLIFY', 'netlify'],
  ['VERCEL', 'vercel'],
  ['HEROKU_TEST_RUN_ID', 'heroku'],
  ['WOODPECKER', 'woodpecker'],
];

export interface CiInfo {
  ci: boolean;
  ciName: string | null;
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value.toLowerCase() !== 'false' && value !== '0';
}

export function detectCi(env: EnvVars): CiInfo {
  for (const [variable, name] of PROVIDERS) {
    if (isSet(env[variable])) return { ci: true, ciName: name };
  }
  if (isSet(env.CI) || isSet(env.CONTINUOUS_INTEGRATION) || isSet(env.BUILD_NUMBER)) {
    return { ci: true, ciName: 'generic' };
  }
  return { ci: false, ciName: null };
}
