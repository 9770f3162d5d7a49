//! The command line's entry point (`roundtrip-cli`): parses the arguments and runs them with
//! `roundtrip::cli`, which drives the app's own service layer on a CRM snapshot file. Native
//! only; built for wasm it is a stub, so `cargo check --target wasm32-unknown-unknown --bins`
//! keeps working.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use clap::Parser;
    let code = roundtrip::cli::run(roundtrip::cli::Cli::parse());
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX))
}

#[cfg(target_arch = "wasm32")]
fn main() {}
