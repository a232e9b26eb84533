//! The `chohyo` executable: see [`chohyo::cli`].
fn main() {
    std::process::exit(chohyo::cli::main());
}
