fn main() {
    eprintln!("mock-host: not implemented yet");
    std::process::exit(2);
}
