//! Cases, their context, seeds, and the runner that turns cases into libtest-mimic trials.

mod case;
mod partition;
mod runner;
mod seed;

pub use case::{BoxFuture, Case, CaseCtx, CaseFn, ScheduleInput};
pub use partition::Partition;
pub use runner::{Attempt, CaseRecord, InterruptCleanup, Outcome, RunOptions, RunSummary, run};
pub use seed::{case_rng, parse_seed, random_seed};
