//! The unbiased pass@k estimator of the Codex paper.
//!
//! For a problem with `n` samples of which `c` pass, pass@k = 1 − C(n−c, k) / C(n, k): the
//! chance that at least one of k samples drawn without replacement passes. The binomials
//! overflow quickly, so it is computed as the product
//! 1 − ∏_{i=n−c+1}^{n} (1 − k / i), and is exactly 1 when n − c < k.

use std::collections::BTreeMap;

/// pass@k for one problem with `n` samples, `c` of them correct. `k` must be ≤ `n`.
pub fn pass_at_k(n: usize, c: usize, k: usize) -> f64 {
    assert!(k >= 1 && k <= n && c <= n, "pass_at_k needs 1 <= k <= n and c <= n");
    if n - c < k {
        return 1.0;
    }
    let prod: f64 = ((n - c + 1)..=n).map(|i| 1.0 - k as f64 / i as f64).product();
    1.0 - prod
}

/// Samples and correct samples of each problem.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub per_task: BTreeMap<String, (usize, usize)>,
}

impl Tally {
    pub fn add(&mut self, task_id: &str, passed: bool) {
        let e = self.per_task.entry(task_id.to_string()).or_default();
        e.0 += 1;
        e.1 += passed as usize;
    }

    /// The largest k every problem has enough samples for (0 when there are none).
    pub fn max_k(&self) -> usize {
        self.per_task.values().map(|&(n, _)| n).min().unwrap_or(0)
    }

    /// Mean pass@k over problems, for k = 1 ..= max_k.
    pub fn pass_at_ks(&self) -> Vec<(usize, f64)> {
        (1..=self.max_k()).map(|k| (k, self.mean_pass_at(k))).collect()
    }

    pub fn mean_pass_at(&self, k: usize) -> f64 {
        let total: f64 = self.per_task.values().map(|&(n, c)| pass_at_k(n, c, k)).sum();
        total / self.per_task.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// C(n, k) as f64, for checking the product form on small numbers.
    fn binom(n: usize, k: usize) -> f64 {
        if k > n {
            return 0.0;
        }
        (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
    }

    #[test]
    fn product_form_equals_the_binomial_definition() {
        for n in 1..=30 {
            for c in 0..=n {
                for k in 1..=n {
                    let direct = 1.0 - binom(n - c, k) / binom(n, k);
                    let stable = pass_at_k(n, c, k);
                    assert!((direct - stable).abs() < 1e-9, "n={n} c={c} k={k}: {direct} vs {stable}");
                }
            }
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(pass_at_k(1, 1, 1), 1.0);
        assert_eq!(pass_at_k(1, 0, 1), 0.0);
        assert!((pass_at_k(10, 3, 1) - 0.3).abs() < 1e-12);
        // 1 - C(5,2)/C(10,2) = 1 - 10/45
        assert!((pass_at_k(10, 5, 2) - (1.0 - 10.0 / 45.0)).abs() < 1e-12);
        assert_eq!(pass_at_k(200, 195, 10), 1.0);
        // Large n stays finite and in range.
        let v = pass_at_k(200, 3, 100);
        assert!(v > 0.8 && v < 1.0, "{v}");
    }

    #[test]
    fn tally_averages_over_problems() {
        let mut t = Tally::default();
        t.add("a", true);
        t.add("a", false);
        t.add("b", false);
        t.add("b", false);
        assert_eq!(t.max_k(), 2);
        let ks = t.pass_at_ks();
        assert!((ks[0].1 - 0.25).abs() < 1e-12);
        assert!((ks[1].1 - 0.5).abs() < 1e-12);
    }
}
