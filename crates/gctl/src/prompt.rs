//! Asking the person at the terminal. Questions go to stderr so stdout stays clean data.

use std::io::{BufRead, IsTerminal, Write};

use super::error::{Error, Result};
use goalert_client::Secret;

/// Asks a yes/no question; anything but "y"/"yes" is no. Without a terminal there is nobody to
/// ask, so the change is refused and `--yes` is suggested.
pub fn confirm(question: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Aborted(format!(
            "{question}: no terminal to confirm on; pass --yes to go ahead"
        )));
    }
    let answer = ask(&format!("{question} [y/N] "))?;
    if matches!(answer.to_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Error::Aborted("nothing changed".into()))
    }
}

/// Reads one line from stdin after showing `prompt` on stderr.
pub fn ask(prompt: &str) -> Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    read_line()
}

/// The first line of stdin, without its line ending.
pub fn read_line() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Prompts for a password without echoing it.
pub fn password(prompt: &str) -> Result<Secret> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "no terminal to ask for the password: set GCTL_PASSWORD or pass --password-stdin".into(),
        ));
    }
    Ok(Secret::new(rpassword::prompt_password(prompt)?))
}
