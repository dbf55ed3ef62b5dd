//! One-line progress for long steps (image builds, cluster bring-up).
//!
//! On a terminal it is a spinner with the step's latest output line; elsewhere (CI logs) it
//! prints a line when the step starts and when it ends, so logs stay readable.

use std::{io::IsTerminal, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};

/// A long step in progress.
#[derive(Debug)]
pub struct Step {
    bar: Option<ProgressBar>,
    name: String,
    start: std::time::Instant,
}

impl Step {
    /// Starts showing `name`.
    pub fn start(name: impl Into<String>) -> Self {
        let name = name.into();
        let bar = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(name.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            Some(bar)
        } else {
            eprintln!("[ordeal] {name} ...");
            None
        };
        Self {
            bar,
            name,
            start: std::time::Instant::now(),
        }
    }

    /// Shows the latest detail (e.g. the last line a build printed).
    pub fn detail(&self, line: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(line.trim().chars().take(120).collect::<String>());
        }
    }

    /// Ends the step with a closing word (`done`, `up to date`, `failed`).
    pub fn finish(self, word: &str) {
        let took = self.start.elapsed().as_secs_f64();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        eprintln!("[ordeal] {} {word} ({took:.1} s)", self.name);
    }
}
