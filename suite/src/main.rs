fn main() {
    println!("conformance: under construction");
}
