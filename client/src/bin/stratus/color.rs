//! Whether the CLI may colour what it prints, and the colouring itself.
//!
//! Colour is on only when the stream is a terminal and `NO_COLOR` is unset or
//! empty (<https://no-color.org>): piped output, files and CI logs stay plain
//! text that scripts can match.

use std::ffi::OsString;
use std::io::IsTerminal;

/// Where a piece of output goes.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Whether output to `stream` may carry colour.
pub fn enabled(stream: Stream) -> bool {
    let terminal = match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    };
    decide(
        std::env::var_os("NO_COLOR"),
        std::env::var_os("TERM"),
        terminal,
    )
}

/// The rule, apart from the process's environment so it can be tested:
/// no colour off a terminal, on a `dumb` one, or when `NO_COLOR` holds
/// anything (an empty `NO_COLOR` does not count, per no-color.org).
fn decide(no_color: Option<OsString>, term: Option<OsString>, terminal: bool) -> bool {
    let refused = no_color.is_some_and(|value| !value.is_empty());
    let dumb = term.is_some_and(|t| t == "dumb");
    terminal && !refused && !dumb
}

/// A colour for [`paint`].
#[derive(Debug, Clone, Copy)]
pub enum Color {
    Red,
    Green,
    Yellow,
}

/// `text` in `color` (bold) when `on`, else `text` unchanged.
pub fn paint(text: &str, color: Color, on: bool) -> String {
    if !on {
        return text.to_owned();
    }
    let code = match color {
        Color::Red => 31,
        Color::Green => 32,
        Color::Yellow => 33,
    };
    format!("\x1b[1;{code}m{text}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(text: &str) -> Option<OsString> {
        Some(text.into())
    }

    #[test]
    fn colour_needs_a_terminal_and_no_refusal() {
        assert!(decide(None, os("xterm-256color"), true));
        assert!(!decide(None, os("xterm"), false), "not a terminal");
        assert!(!decide(os("1"), os("xterm"), true), "NO_COLOR=1");
        assert!(!decide(os("0"), os("xterm"), true), "any value refuses");
        assert!(decide(os(""), os("xterm"), true), "empty NO_COLOR is unset");
        assert!(!decide(None, os("dumb"), true));
    }

    #[test]
    fn paint_adds_codes_only_when_on() {
        assert_eq!(paint("SEVERE", Color::Red, false), "SEVERE");
        assert_eq!(paint("LOW", Color::Green, true), "\x1b[1;32mLOW\x1b[0m");
    }
}
