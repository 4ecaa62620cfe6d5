//! TODO(helper): see module plan.
