use djust::prelude::*;

struct Counter;

impl Counter {
    #[event_handler]
    fn add(&mut self) {}
}

fn main() {}
