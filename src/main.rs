//! The `chohyo` executable: see [`chohyo::cli`].

/// mimalloc instead of the system allocator: rendering makes many small,
/// short-lived allocations per document on every thread, where glibc's
/// malloc and free were about 14 % of the CPU profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(chohyo::cli::main().code());
}
