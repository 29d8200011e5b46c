//! `order_by=similarity` on `GET /projects`: GitLab ranks projects by
//! PostgreSQL's `pg_trgm` `similarity()` of the search text with the path
//! (weight 1), the name (0.7) and the description (0.2), highest first, ties
//! by id, highest first (`Project.sorted_by_similarity_desc` and
//! `Gitlab::Database::SimilarityScore`, docs/gitlab.md §13).
//!
//! `similarity(a, b)` is the share of trigrams the two texts have in common
//! (shared / all distinct). A text's trigrams are taken word by word, a word
//! being a run of letters and digits, lower-cased and padded with two spaces
//! in front and one behind (the PostgreSQL documentation of `pg_trgm`).
//! Written out here rather than taken from a crate: it is a few lines, and
//! the crates that compute trigram similarity do not promise pg_trgm's
//! padding and word rules.

use std::collections::BTreeSet;

use super::model::Project;

/// GitLab's score for `project` against the search text.
pub fn project_score(project: &Project, search: &str) -> f64 {
    let search = trigrams(search);
    let description = project.description.as_deref().unwrap_or("");
    similarity(&trigrams(project.path()), &search)
        + 0.7 * similarity(&trigrams(&project.name), &search)
        + 0.2 * similarity(&trigrams(description), &search)
}

fn similarity(a: &BTreeSet<[char; 3]>, b: &BTreeSet<[char; 3]>) -> f64 {
    let shared = a.intersection(b).count();
    let all = a.union(b).count();
    if all == 0 {
        return 0.0;
    }
    // Trigram sets of texts the simulator holds are far below 2^52.
    shared as f64 / all as f64
}

fn trigrams(text: &str) -> BTreeSet<[char; 3]> {
    let mut out = BTreeSet::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let padded: Vec<char> = "  "
            .chars()
            .chain(word.chars().flat_map(char::to_lowercase))
            .chain(" ".chars())
            .collect();
        for window in padded.windows(3) {
            out.insert([window[0], window[1], window[2]]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PostgreSQL documentation's example: `show_trgm('cat')` is
    /// `{"  c"," ca","at ","cat"}`.
    #[test]
    fn trigrams_of_a_word_are_padded() {
        let expected: BTreeSet<[char; 3]> = [[' ', ' ', 'c'], [' ', 'c', 'a'], ['a', 't', ' '], ['c', 'a', 't']]
            .into_iter()
            .collect();
        assert_eq!(trigrams("Cat"), expected);
    }

    #[test]
    fn identical_words_score_one_and_unrelated_zero() {
        assert!((similarity(&trigrams("backend"), &trigrams("Backend")) - 1.0).abs() < f64::EPSILON);
        assert!(similarity(&trigrams("backend"), &trigrams("xyz")).abs() < f64::EPSILON);
        let near = similarity(&trigrams("backend"), &trigrams("back"));
        assert!(near > 0.0 && near < 1.0);
    }
}
