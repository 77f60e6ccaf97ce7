//! `mock-host`: the Paperclip plugin host mock as a binary (see `mock_host::cli`).

fn main() -> std::process::ExitCode {
    mock_host::cli::main_with_args(std::env::args_os())
}
