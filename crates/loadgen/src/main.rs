fn main() {
    eprintln!("tern-load: scenarios come with the load-generator issue");
    std::process::exit(2);
}
