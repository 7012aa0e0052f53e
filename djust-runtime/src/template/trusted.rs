//! The program-wide list of places where trusted markup enters a page.
//!
//! Every `{value|safe}` splice and every `srcdoc={value}` in every `html!`
//! of the program (inside a view or in any helper or component) registers
//! one [`TrustedSite`] at compile time, so the audit can list them all: a
//! `SafeHtml` has no other way into a page (it does not render through a
//! plain `{value}` and cannot become an `Html`).

use std::fmt;

/// How trusted markup enters the page at a [`TrustedSite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrustedKind {
    /// `{value|safe}`: written raw into element content.
    SafeSplice,
    /// `srcdoc={value}`: the document of a frame.
    Srcdoc,
}

impl TrustedKind {
    /// How the site is written in a template.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustedKind::SafeSplice => "{..|safe}",
            TrustedKind::Srcdoc => "srcdoc={..}",
        }
    }
}

/// One place in the source where a `SafeHtml` is written into a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrustedSite {
    /// Source file (`file!()`).
    pub file: &'static str,
    /// Line of the value.
    pub line: u32,
    /// Column of the value.
    pub column: u32,
    /// How it is written.
    pub kind: TrustedKind,
    /// `module_path!()` of the template.
    pub module: &'static str,
}

inventory::collect!(TrustedSite);

impl fmt::Display for TrustedSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{} {}",
            self.file,
            self.line,
            self.column,
            self.kind.as_str()
        )
    }
}

/// Every trusted site compiled into the program, sorted by place, each once.
pub fn trusted_sites() -> Vec<&'static TrustedSite> {
    let mut sites: Vec<&'static TrustedSite> = inventory::iter::<TrustedSite>.into_iter().collect();
    sites.sort();
    sites.dedup();
    sites
}
