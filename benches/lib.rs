//! The rosetta-rs template-benchmarks-rs workloads ("big table" and "teams")
//! written once for each engine, so `benches/render.rs` can compare them
//! side by side in one run.
//!
//! Every engine writes byte-identical HTML (no insignificant whitespace), and
//! a test checks that, so the benchmark compares equal work.
#![forbid(unsafe_code)]

use askama::Template as AskamaTemplate;
use djust::prelude::*;
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

/// djust `html!`.
pub fn djust_big_table(table: &[Vec<usize>]) -> String {
    html! {
        <table>
            for row in table {
                <tr>
                    for col in row { <td>{col}</td> }
                </tr>
            }
        </table>
    }
    .into_string()
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
            @for row in table {
                tr { @for col in row { td { (col) } } }
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
    source = "<table>{% for row in table %}<tr>{% for col in row %}<td>{{ col }}</td>{% endfor %}</tr>{% endfor %}</table>",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_writes_the_same_big_table() {
        let table = big_table_data(10);
        let expected = djust_big_table(&table);
        assert!(expected.starts_with("<table><tr><td>0</td><td>1</td>"));
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
