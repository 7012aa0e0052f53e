//! The rosetta-rs template-benchmarks-rs workloads ("big table" and "teams")
//! written once for each engine, so `benches/render.rs` can compare them
//! side by side in one run.
//!
//! Every engine writes byte-identical HTML (no insignificant whitespace), and
//! a test checks that, so the benchmark compares equal work.
#![forbid(unsafe_code)]

use askama::Template as AskamaTemplate;
use djust::prelude::*;
use djust::runtime::live::update_frames;
use djust::runtime::protocol::ServerMessage;
use djust::runtime::template::mode::{render_markup, render_nodes};
use djust::runtime::vdom::VTree;
use sailfish::TemplateSimple;

/// A `size × size` table of integers.
pub fn big_table_data(size: usize) -> Vec<Vec<usize>> {
    (0..size).map(|_| (0..size).collect()).collect()
}

/// One team of the "teams" workload.
#[derive(Clone)]
pub struct Team {
    /// Team name.
    pub name: String,
    /// League points.
    pub score: u8,
}

/// The "teams" workload's data.
pub fn teams_data() -> (u16, Vec<Team>) {
    let team = |name: &str, score| Team {
        name: name.into(),
        score,
    };
    (
        2015,
        vec![
            team("Jiangsu", 43),
            team("Beijing", 27),
            team("Guangzhou", 22),
            team("Shandong", 12),
        ],
    )
}

/// djust `html!` ([`big_table_view`] rendered to a string).
pub fn djust_big_table(table: &[Vec<usize>]) -> String {
    big_table_view(table).into_string()
}

/// djust `html!`.
pub fn djust_teams(year: u16, teams: &[Team]) -> String {
    html! {
        <html>
            <head><title>{year}</title></head>
            <body>
                <h1>"CSL " {year}</h1>
                <ul>
                    for (index, team) in teams.iter().enumerate() {
                        <li class={if index == 0 { "champion" } else { "" }}>
                            <b>{team.name}</b>": " {team.score}
                        </li>
                    }
                </ul>
            </body>
        </html>
    }
    .into_string()
}

/// maud.
pub fn maud_big_table(table: &[Vec<usize>]) -> String {
    maud::html! {
        table {
            tbody {
                @for row in table {
                    tr { @for col in row { td { (col) } } }
                }
            }
        }
    }
    .into_string()
}

/// maud.
pub fn maud_teams(year: u16, teams: &[Team]) -> String {
    maud::html! {
        html {
            head { title { (year) } }
            body {
                h1 { "CSL " (year) }
                ul {
                    @for (index, team) in teams.iter().enumerate() {
                        li class=(if index == 0 { "champion" } else { "" }) {
                            b { (team.name) } ": " (team.score)
                        }
                    }
                }
            }
        }
    }
    .into_string()
}

#[derive(AskamaTemplate)]
#[template(
    source = "<table><tbody>{% for row in table %}<tr>{% for col in row %}<td>{{ col }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>",
    ext = "html"
)]
struct AskamaBigTable<'a> {
    table: &'a [Vec<usize>],
}

#[derive(AskamaTemplate)]
#[template(
    source = "<html><head><title>{{ year }}</title></head><body><h1>CSL {{ year }}</h1><ul>{% for team in teams %}<li class=\"{% if loop.index0 == 0 %}champion{% endif %}\"><b>{{ team.name }}</b>: {{ team.score }}</li>{% endfor %}</ul></body></html>",
    ext = "html"
)]
struct AskamaTeams<'a> {
    year: u16,
    teams: &'a [Team],
}

/// askama.
pub fn askama_big_table(table: &[Vec<usize>]) -> String {
    AskamaBigTable { table }.render().unwrap_or_default()
}

/// askama.
pub fn askama_teams(year: u16, teams: &[Team]) -> String {
    AskamaTeams { year, teams }.render().unwrap_or_default()
}

#[derive(TemplateSimple)]
#[template(path = "big-table.stpl")]
struct SailfishBigTable<'a> {
    table: &'a [Vec<usize>],
}

#[derive(TemplateSimple)]
#[template(path = "teams.stpl")]
struct SailfishTeams<'a> {
    year: u16,
    teams: &'a [Team],
}

/// sailfish.
pub fn sailfish_big_table(table: &[Vec<usize>]) -> String {
    SailfishBigTable { table }.render_once().unwrap_or_default()
}

/// sailfish.
pub fn sailfish_teams(year: u16, teams: &[Team]) -> String {
    SailfishTeams { year, teams }
        .render_once()
        .unwrap_or_default()
}

// ----- issue 4: live updates (render VDOM + diff + encode) -----

/// The big table as a view template (`Html`): [`djust_big_table`] renders
/// it to a string; render it with `render_nodes` for a VDOM or with
/// `render_markup` for SSR.
pub fn big_table_view(table: &[Vec<usize>]) -> Html {
    html! {
        <table>
            <tbody>
                for row in table {
                    <tr>
                        for col in row { <td>{col}</td> }
                    </tr>
                }
            </tbody>
        </table>
    }
}

/// The full SSR page, as the server would send it on the first request.
pub fn ssr(render: impl FnOnce() -> Html) -> String {
    render_markup(render)
}

/// One live update as the runtime performs it (`LiveSession::rerender`,
/// through the same `update_frames`): render the view as VDOM, diff it
/// against the previous tree, encode the frame(s) — a `patch` frame, or an
/// `html_update` when the patches would outweigh the page. Returns the new
/// tree, the number of patches (0 for an `html_update`) and the encoded
/// frames (one per line).
///
/// A duplicate key makes the runtime send the full HTML instead; here it is
/// a bug in the workload, reported as the frame `"duplicate key"`.
pub fn live_update(old: &VTree, render: impl FnOnce() -> Html) -> (VTree, usize, String) {
    let new = render_nodes(render);
    match update_frames(old, &new, 2, Some(1)) {
        Ok(Some(frames)) => {
            let count = frames
                .iter()
                .map(|frame| match frame {
                    ServerMessage::Patch { patches, .. } => patches.len(),
                    _ => 0,
                })
                .sum();
            let encoded: Vec<String> = frames.iter().map(ServerMessage::to_json).collect();
            (new, count, encoded.join("\n"))
        }
        Ok(None) => (new, 0, ServerMessage::Noop { reference: Some(1) }.to_json()),
        Err(error) => (new, 0, error.to_string()),
    }
}

/// One row of the js-framework-benchmark table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsRow {
    /// Stable id (the loop key).
    pub id: usize,
    /// Random "adjective colour noun" label.
    pub label: String,
}

/// The js-framework-benchmark ("keyed" variant) state: rows plus the
/// selected row, with the benchmark's operations. Labels come from a fixed
/// seed, so every run builds the same tables.
#[derive(Clone, Debug)]
pub struct JsTable {
    /// Rows in display order.
    pub rows: Vec<JsRow>,
    /// Id of the highlighted row.
    pub selected: Option<usize>,
    next_id: usize,
    seed: u64,
}

const ADJECTIVES: &[&str] = &[
    "pretty",
    "large",
    "big",
    "small",
    "tall",
    "short",
    "long",
    "handsome",
    "plain",
    "quaint",
    "clean",
    "elegant",
    "easy",
    "angry",
    "crazy",
    "helpful",
    "mushy",
    "odd",
    "unsightly",
    "adorable",
    "important",
    "inexpensive",
    "cheap",
    "expensive",
    "fancy",
];
const COLOURS: &[&str] = &[
    "red", "yellow", "blue", "green", "pink", "brown", "purple", "brown", "white", "black",
    "orange",
];
const NOUNS: &[&str] = &[
    "table", "chair", "house", "bbq", "desk", "car", "pony", "cookie", "sandwich", "burger",
    "pizza", "mouse", "keyboard",
];

impl Default for JsTable {
    fn default() -> Self {
        Self::new()
    }
}

impl JsTable {
    /// An empty table; ids start at 1.
    pub fn new() -> Self {
        JsTable {
            rows: Vec::new(),
            selected: None,
            next_id: 1,
            seed: 0x2545_f491_4f6c_dd1d,
        }
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        // xorshift64: deterministic and dependency-free.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let index = usize::try_from(self.seed % words.len() as u64).unwrap_or(0);
        words.get(index).copied().unwrap_or("")
    }

    fn build(&mut self, count: usize) -> Vec<JsRow> {
        (0..count)
            .map(|_| {
                let label = format!(
                    "{} {} {}",
                    self.pick(ADJECTIVES),
                    self.pick(COLOURS),
                    self.pick(NOUNS)
                );
                let id = self.next_id;
                self.next_id += 1;
                JsRow { id, label }
            })
            .collect()
    }

    /// "create rows" / "replace all rows": `count` new rows replace the table.
    pub fn create(&mut self, count: usize) {
        self.rows = self.build(count);
        self.selected = None;
    }

    /// "append rows": `count` new rows at the end.
    pub fn append(&mut self, count: usize) {
        let more = self.build(count);
        self.rows.extend(more);
    }

    /// "partial update": appends `" !!!"` to the label of every 10th row.
    pub fn update_every_10th(&mut self) {
        for row in self.rows.iter_mut().step_by(10) {
            row.label.push_str(" !!!");
        }
    }

    /// "select row": highlights the row at `index`.
    pub fn select(&mut self, index: usize) {
        self.selected = self.rows.get(index).map(|row| row.id);
    }

    /// "swap rows": exchanges rows 1 and 998 (when there are more than 998).
    pub fn swap_rows(&mut self) {
        if self.rows.len() > 998 {
            self.rows.swap(1, 998);
        }
    }

    /// "remove row": removes the row at `index`.
    pub fn remove(&mut self, index: usize) {
        if index < self.rows.len() {
            self.rows.remove(index);
        }
    }

    /// "clear rows".
    pub fn clear(&mut self) {
        self.rows.clear();
        self.selected = None;
    }

    /// The view: a keyed `<tbody>`, the selected row has `class="selected"`.
    pub fn view(&self) -> Html {
        js_table_view(&self.rows, self.selected)
    }
}

/// The js-framework-benchmark table template.
pub fn js_table_view(rows: &[JsRow], selected: Option<usize>) -> Html {
    html! {
        <table>
            <tbody>
                for row in rows key = row.id {
                    <tr class={(selected == Some(row.id)).then_some("selected")}>
                        <td>{row.id}</td>
                        <td><a dj-click="select" dj-value-id={row.id}>{row.label}</a></td>
                        <td><a dj-click="remove" dj-value-id={row.id}>"x"</a></td>
                    </tr>
                }
            </tbody>
        </table>
    }
}

/// One js-framework-benchmark operation: the table before it, and the
/// table after it.
#[derive(Clone, Debug)]
pub struct JsOperation {
    /// Benchmark name of the operation.
    pub name: &'static str,
    /// State the browser shows before the operation.
    pub before: JsTable,
    /// State after the operation.
    pub after: JsTable,
}

fn operation(
    name: &'static str,
    before: &JsTable,
    change: impl FnOnce(&mut JsTable),
) -> JsOperation {
    let mut after = before.clone();
    change(&mut after);
    JsOperation {
        name,
        before: before.clone(),
        after,
    }
}

/// The nine js-framework-benchmark operations, each as (before, after).
pub fn js_operations() -> Vec<JsOperation> {
    let empty = JsTable::new();
    let mut thousand = JsTable::new();
    thousand.create(1000);
    let mut selected = thousand.clone();
    selected.select(1);
    vec![
        operation("create_1000", &empty, |t| t.create(1000)),
        operation("replace_all_1000", &thousand, |t| t.create(1000)),
        operation("update_every_10th", &thousand, JsTable::update_every_10th),
        operation("select_row", &selected, |t| t.select(5)),
        operation("swap_rows", &thousand, JsTable::swap_rows),
        operation("remove_row", &thousand, |t| t.remove(3)),
        operation("create_10000", &empty, |t| t.create(10_000)),
        operation("append_1000", &thousand, |t| t.append(1000)),
        operation("clear", &thousand, JsTable::clear),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    use djust::runtime::protocol::Patch;
    use djust::runtime::vdom::reference::{apply, parse_fragment};
    use djust::runtime::vdom::{diff, to_html};

    /// Patches of one operation, after checking they turn the page before
    /// into the page after (with the reference applier) and that the VDOM
    /// serialises exactly like SSR.
    fn patches_of(op: &JsOperation) -> Vec<Patch> {
        let old = render_nodes(|| op.before.view());
        let new = render_nodes(|| op.after.view());
        assert_eq!(to_html(&new), ssr(|| op.after.view()), "{}", op.name);
        let patches = diff(&old, &new).expect("no duplicate keys");
        let mut dom = parse_fragment(&to_html(&old));
        apply(&mut dom, &patches).expect("patches apply");
        assert_eq!(dom, parse_fragment(&to_html(&new)), "{}", op.name);
        patches
    }

    fn count(patches: &[Patch], kind: fn(&Patch) -> bool) -> usize {
        patches.iter().filter(|patch| kind(patch)).count()
    }

    #[test]
    fn js_framework_operations_send_sane_patches() {
        let is_insert = |p: &Patch| matches!(p, Patch::InsertChild { .. });
        let is_remove = |p: &Patch| matches!(p, Patch::RemoveChild { .. });
        let is_move = |p: &Patch| matches!(p, Patch::MoveChild { .. });
        let is_text = |p: &Patch| matches!(p, Patch::SetText { .. });
        let is_attr = |p: &Patch| matches!(p, Patch::SetAttr { .. } | Patch::RemoveAttr { .. });
        let is_replace = |p: &Patch| matches!(p, Patch::Replace { .. });
        for op in js_operations() {
            let patches = patches_of(&op);
            let n = patches.len();
            let (before, after) = (op.before.rows.len(), op.after.rows.len());
            match op.name {
                "create_1000" | "create_10000" | "append_1000" => {
                    // One insert per new row, or one replace of the body.
                    assert!(n >= 1 && n <= after - before, "{}: {n}", op.name);
                    assert_eq!(count(&patches, is_insert) + count(&patches, is_replace), n);
                }
                "replace_all_1000" => {
                    assert!(n >= 1 && n <= before + after, "{}: {n}", op.name);
                    let structural = count(&patches, is_insert)
                        + count(&patches, is_remove)
                        + count(&patches, is_replace);
                    assert_eq!(structural, n, "{}", op.name);
                }
                "update_every_10th" => {
                    assert_eq!(n, 100, "{}", op.name);
                    assert_eq!(count(&patches, is_text), 100);
                }
                "select_row" => {
                    assert!((1..=2).contains(&n), "{}: {patches:?}", op.name);
                    assert_eq!(count(&patches, is_attr), n, "{patches:?}");
                }
                "swap_rows" => {
                    assert!((1..=2).contains(&n), "{}: {patches:?}", op.name);
                    assert_eq!(count(&patches, is_move), n, "{patches:?}");
                }
                "remove_row" => {
                    assert_eq!(n, 1, "{}: {patches:?}", op.name);
                    assert_eq!(count(&patches, is_remove), 1);
                }
                "clear" => {
                    assert!(n >= 1 && n <= before, "{}: {n}", op.name);
                    assert_eq!(count(&patches, is_remove) + count(&patches, is_replace), n);
                }
                other => panic!("unknown operation {other}"),
            }
        }
    }

    #[test]
    fn one_changed_cell_of_the_big_table_is_one_set_text() {
        let old_table = big_table_data(100);
        let mut new_table = old_table.clone();
        new_table[42][17] = 4242;
        assert_eq!(
            ssr(|| big_table_view(&old_table)),
            djust_big_table(&old_table)
        );
        let old = render_nodes(|| big_table_view(&old_table));
        let (_, patches, frame) = live_update(&old, || big_table_view(&new_table));
        assert_eq!(patches, 1, "{frame}");
        assert!(frame.contains(r#""type":"set_text""#), "{frame}");
        assert!(frame.contains(r#""value":"4242""#), "{frame}");
    }

    #[test]
    fn every_engine_writes_the_same_big_table() {
        let table = big_table_data(10);
        let expected = djust_big_table(&table);
        assert!(expected.starts_with("<table><tbody><tr><td>0</td><td>1</td>"));
        assert_eq!(maud_big_table(&table), expected);
        assert_eq!(askama_big_table(&table), expected);
        assert_eq!(sailfish_big_table(&table), expected);
    }

    #[test]
    fn every_engine_writes_the_same_teams_page() {
        let (year, teams) = teams_data();
        let expected = djust_teams(year, &teams);
        assert!(
            expected.contains("<li class=\"champion\"><b>Jiangsu</b>: 43</li>"),
            "{expected}"
        );
        assert_eq!(maud_teams(year, &teams), expected);
        assert_eq!(askama_teams(year, &teams), expected);
        assert_eq!(sailfish_teams(year, &teams), expected);
    }
}
