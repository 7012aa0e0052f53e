use djust::prelude::*;

struct Counter {
    count: i64,
}

#[live_view(public)]
impl Counter {
    fn helper(&self) -> i64 {
        self.count
    }
}

fn main() {}
