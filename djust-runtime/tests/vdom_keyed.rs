//! Keyed lists: minimal moves (LIS), single inserts/removals, duplicate keys, dj-id anchors.
#![allow(clippy::unwrap_used)]

use djust_runtime::protocol::Patch;
use djust_runtime::vdom::reference::{apply, parse_fragment};
use proptest::prelude::*;

use djust_runtime::vdom::{diff, to_html, DiffError, ElementTemplate, TAttr, VBuilder, VTree};

static UL: ElementTemplate = ElementTemplate {
    tag: "ul",
    attrs: &[TAttr::Static {
        name: "dj-id",
        value: Some("list&amp;1"),
    }],
    is_void: false,
};
static LI: ElementTemplate = ElementTemplate {
    tag: "li",
    attrs: &[TAttr::Dynamic { name: "class" }],
    is_void: false,
};

/// `<p>head</p><ul dj-id="list&1">` + one `<li>` per item.
fn list(items: &[u32]) -> VTree {
    let mut b = VBuilder::new();
    b.open(&UL);
    for item in items {
        let mark = b.mark();
        b.open(&LI);
        b.set_attr(0, Some(format!("c{}", item % 3)));
        b.push_text(&format!("item {item}"));
        b.close();
        b.key_since(mark, item.to_string());
    }
    b.close();
    b.finish()
}

fn check(before: &[u32], after: &[u32]) -> Vec<Patch> {
    let a = list(before);
    let b = list(after);
    let patches = diff(&a, &b).unwrap();
    let mut dom = parse_fragment(&to_html(&a));
    apply(&mut dom, &patches).unwrap();
    assert_eq!(dom, parse_fragment(&to_html(&b)));
    patches
}

fn count(patches: &[Patch], kind: fn(&Patch) -> bool) -> usize {
    patches.iter().filter(|p| kind(p)).count()
}

#[test]
fn moving_one_item_in_1000_is_one_move() {
    let before: Vec<u32> = (0..1000).collect();
    let mut after = before.clone();
    let item = after.remove(10);
    after.insert(900, item);
    let patches = check(&before, &after);
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert!(matches!(
        &patches[0],
        Patch::MoveChild { path, id: Some(id), .. } if path == "/0" && id == "list&1"
    ));

    let mut after = before.clone();
    let item = after.remove(999);
    after.insert(0, item);
    assert_eq!(check(&before, &after).len(), 1);
}

#[test]
fn reversing_1000_is_at_most_999_moves() {
    let before: Vec<u32> = (0..1000).collect();
    let after: Vec<u32> = before.iter().rev().copied().collect();
    let patches = check(&before, &after);
    let moves = count(&patches, |p| matches!(p, Patch::MoveChild { .. }));
    assert!(moves <= 999, "{moves} moves");
    assert_eq!(moves, patches.len());
}

#[test]
fn inserting_at_the_front_is_one_insert() {
    let before: Vec<u32> = (0..1000).collect();
    let mut after = before.clone();
    after.insert(0, 5000);
    let patches = check(&before, &after);
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert!(matches!(
        &patches[0],
        Patch::InsertChild { path, index: 0, .. } if path == "/0"
    ));
}

#[test]
fn removing_one_is_one_remove() {
    let before: Vec<u32> = (0..1000).collect();
    let mut after = before.clone();
    after.remove(500);
    let patches = check(&before, &after);
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert!(matches!(&patches[0], Patch::RemoveChild { index: 500, .. }));
}

#[test]
fn unchanged_list_has_no_patches() {
    let items: Vec<u32> = (0..1000).collect();
    assert!(check(&items, &items).is_empty());
}

#[test]
fn mixed_changes_and_content_updates() {
    let before = [1, 2, 3, 4, 5, 6, 7, 8];
    let after = [8, 3, 10, 1, 2, 11, 6, 4];
    let patches = check(&before, &after);
    // 5 and 7 removed; 10 and 11 inserted.
    assert_eq!(
        count(&patches, |p| matches!(p, Patch::RemoveChild { .. })),
        2
    );
    assert_eq!(
        count(&patches, |p| matches!(p, Patch::InsertChild { .. })),
        2
    );
    check(&[], &after);
    check(&before, &[]);
    check(&[1, 2, 3], &[4, 5, 6]);
}

#[test]
fn duplicate_keys_are_an_error() {
    let a = list(&[1, 2, 3]);
    let b = list(&[1, 2, 2]);
    assert_eq!(
        diff(&a, &b),
        Err(DiffError::DuplicateKey { key: "2".into() })
    );
    assert_eq!(
        diff(&b, &a),
        Err(DiffError::DuplicateKey { key: "2".into() })
    );
    assert!(diff(&b, &b).is_err());
    assert!(diff(&list(&[3, 2, 1]), &b).is_err());
}

#[test]
fn moves_keep_item_state_changes() {
    let a = list(&[1, 2, 3]);
    // Same keys, item 1 now has different text.
    let mut b = VBuilder::new();
    b.open(&UL);
    for item in [3u32, 1, 2] {
        let mark = b.mark();
        b.open(&LI);
        b.set_attr(0, None);
        b.push_text(&format!("changed {item}"));
        b.close();
        b.key_since(mark, item.to_string());
    }
    b.close();
    let b = b.finish();
    let patches = diff(&a, &b).unwrap();
    assert_eq!(count(&patches, |p| matches!(p, Patch::MoveChild { .. })), 1);
    assert_eq!(
        count(&patches, |p| matches!(p, Patch::RemoveAttr { .. })),
        3
    );
    let mut dom = parse_fragment(&to_html(&a));
    apply(&mut dom, &patches).unwrap();
    assert_eq!(dom, parse_fragment(&to_html(&b)));
}

/// Length of a longest increasing subsequence, the slow obvious way.
fn lis_len(seq: &[usize]) -> usize {
    let mut best = vec![1usize; seq.len()];
    for i in 0..seq.len() {
        for j in 0..i {
            if seq[j] < seq[i] {
                best[i] = best[i].max(best[j] + 1);
            }
        }
    }
    best.into_iter().max().unwrap_or(0)
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_permutations_use_the_fewest_moves(
        before in proptest::sample::subsequence((0u32..150).collect::<Vec<_>>(), 0..=150)
            .prop_shuffle(),
        after in proptest::sample::subsequence((0u32..150).collect::<Vec<_>>(), 0..=150)
            .prop_shuffle(),
    ) {
        let patches = check(&before, &after);
        let survivors: Vec<usize> = after
            .iter()
            .filter_map(|k| before.iter().position(|b| b == k))
            .collect();
        if survivors.is_empty() && before.len() + after.len() > 1 {
            // Nothing survives: the list's parent is replaced in one patch.
            prop_assert_eq!(patches.len(), 1);
            let is_replace = matches!(patches[0], Patch::Replace { .. });
            prop_assert!(is_replace, "{:?}", patches);
            return Ok(());
        }
        let moves = count(&patches, |p| matches!(p, Patch::MoveChild { .. }));
        prop_assert!(moves <= survivors.len() - lis_len(&survivors));
        prop_assert_eq!(
            count(&patches, |p| matches!(p, Patch::InsertChild { .. })),
            after.len() - survivors.len()
        );
        prop_assert_eq!(
            count(&patches, |p| matches!(p, Patch::RemoveChild { .. })),
            before.len() - survivors.len()
        );
    }
}
