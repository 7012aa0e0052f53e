//! The views served by `djust-bench`'s own server (in process or `--spawn`).
//!
//! They mirror the examples but carry no `#[rate_limit]` on their handlers:
//! every load-test client comes from 127.0.0.1 and anonymous clients without
//! a session share one IP bucket, so a handler limit would measure the
//! limiter, not the runtime.

use std::sync::OnceLock;

use djust::prelude::*;

/// `examples/counter.rs` without the handler rate limits (served at `/`).
pub struct BenchCounter {
    count: i64,
}

#[live_view(public, name = "bench_counter")]
impl BenchCounter {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(BenchCounter { count: 0 })
    }

    fn render(&self) -> Html {
        html! {
            <main class="counter">
                <h1>"Counter"</h1>
                <p class="count" id="count">{self.count}</p>
                <button id="decrement" dj-click="decrement">"−1"</button>
                <button id="increment" dj-click="increment">"+1"</button>
                <button id="add10" dj-click="increment" dj-value-by="10">"+10"</button>
                <button id="reset" dj-click="reset">"Reset"</button>
            </main>
        }
    }

    #[event_handler]
    fn increment(&mut self, #[default(1)] by: i64) {
        self.count = self.count.saturating_add(by.clamp(-1000, 1000));
    }

    #[event_handler]
    fn decrement(&mut self) {
        self.count = self.count.saturating_sub(1);
    }

    #[event_handler]
    fn reset(&mut self) {
        self.count = 0;
    }
}

/// Side of the big table.
const TABLE_SIZE: usize = 100;

/// The rosetta-rs 100×100 big table (served at `/table`); every `bump`
/// event changes exactly one cell, walking through the cells in order.
pub struct BenchTable {
    cells: Vec<Vec<u32>>,
    next: usize,
}

#[live_view(public, name = "bench_table")]
impl BenchTable {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(BenchTable {
            cells: (0..TABLE_SIZE)
                .map(|_| (0..TABLE_SIZE as u32).collect())
                .collect(),
            next: 0,
        })
    }

    fn render(&self) -> Html {
        html! {
            <table>
                <tbody>
                    for row in &self.cells {
                        <tr>
                            for col in row { <td>{col}</td> }
                        </tr>
                    }
                </tbody>
            </table>
        }
    }

    #[event_handler]
    fn bump(&mut self) {
        let cell = self.next % (TABLE_SIZE * TABLE_SIZE);
        self.next = self.next.wrapping_add(1);
        if let Some(value) = self
            .cells
            .get_mut(cell / TABLE_SIZE)
            .and_then(|row| row.get_mut(cell % TABLE_SIZE))
        {
            *value = value.wrapping_add(1);
        }
    }
}

/// One row of the in-memory contact list.
pub struct Contact {
    /// Stable id (the loop key).
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Phone number.
    pub phone: String,
    /// Lower-cased `name email`, searched by substring.
    haystack: String,
}

/// Number of contacts in the shared list.
pub const CONTACTS: usize = 1_000;
/// Rows shown per page of results.
const PER_PAGE: usize = 20;

const FIRST: &[&str] = &[
    "Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Yolanda",
];
const LAST: &[&str] = &[
    "Anderson", "Brown", "Clark", "Davis", "Evans", "Fisher", "Garcia", "Harris", "Jackson",
    "Johnson", "King", "Lewis", "Martin", "Miller", "Moore", "Nelson", "Parker", "Smith", "Taylor",
    "Wilson",
];

/// The shared contact list (built once, deterministic).
pub fn contacts() -> &'static [Contact] {
    static CONTACT_LIST: OnceLock<Vec<Contact>> = OnceLock::new();
    CONTACT_LIST.get_or_init(|| {
        (0..CONTACTS)
            .map(|i| {
                let first = FIRST[i % FIRST.len()];
                let last = LAST[(i / FIRST.len() + i * 7) % LAST.len()];
                let name = format!("{first} {last}");
                let email = format!(
                    "{}.{}{}@example.com",
                    first.to_ascii_lowercase(),
                    last.to_ascii_lowercase(),
                    i
                );
                let haystack = format!("{} {}", name.to_lowercase(), email);
                Contact {
                    id: i as u32 + 1,
                    name,
                    email,
                    phone: format!("+1 555 {:04}", i),
                    haystack,
                }
            })
            .collect()
    })
}

/// Contacts-style search (served at `/search`): a search box filtering a
/// shared list of 1,000 contacts by substring of name or email, showing the
/// first 20 matches in a keyed table and the match count. Each `search`
/// event is one keystroke of the user typing.
pub struct BenchSearch {
    query: String,
    rows: Vec<&'static Contact>,
    total: usize,
}

impl BenchSearch {
    fn reload(&mut self) {
        let needle = self.query.to_lowercase();
        let all = contacts();
        self.rows.clear();
        self.total = 0;
        for contact in all {
            if needle.is_empty() || contact.haystack.contains(&needle) {
                if self.rows.len() < PER_PAGE {
                    self.rows.push(contact);
                }
                self.total += 1;
            }
        }
    }
}

#[live_view(public, name = "bench_search")]
impl BenchSearch {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        let mut view = BenchSearch {
            query: String::new(),
            rows: Vec::with_capacity(PER_PAGE),
            total: 0,
        };
        view.reload();
        Ok(view)
    }

    fn render(&self) -> Html {
        html! {
            <div class="toolbar">
                <input type="search" id="search" name="q" placeholder="Search name or email" autocomplete="off"
                    value={self.query} dj-input="search">
                <span class="muted" id="total">{self.total} " contacts"</span>
            </div>
            <table>
                <thead>
                    <tr><th>"Name"</th><th>"Email"</th><th>"Phone"</th></tr>
                </thead>
                <tbody id="rows">
                    for c in &self.rows key = c.id {
                        <tr data-id={c.id}>
                            <td class="name">{c.name}</td>
                            <td class="email">{c.email}</td>
                            <td class="phone">{c.phone}</td>
                        </tr>
                    }
                </tbody>
            </table>
            if self.rows.is_empty() { <p id="empty">"No contacts."</p> }
        }
    }

    #[event_handler]
    fn search(&mut self, q: String) {
        self.query = q.trim().chars().take(100).collect();
        self.reload();
    }
}
