//! The command line's [`Ticker`]: the service's progress reports drawn as an `indicatif` bar
//! on stderr when stderr is a terminal, and nothing at all otherwise (a pipe or a file gets no
//! control characters). It never cancels: Ctrl-C ends the process, and nothing is written
//! before the very end of a command.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::service::{Cancelled, Ticker};

/// A progress bar, or nothing.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar on stderr when it is a terminal.
    pub fn on_stderr() -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} {msg:<48!} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        Progress { bar: Some(bar) }
    }

    /// Removes the bar before the command prints its results.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Ticker for Progress {
    async fn tick(&self, stage: &str, done: usize, total: usize) -> Result<(), Cancelled> {
        if let Some(bar) = &self.bar {
            bar.set_message(stage.to_string());
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        Ok(())
    }
}
