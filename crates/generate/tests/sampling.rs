//! The samplers against synthetic distributions: chi-square goodness of fit for temperature,
//! top-k, top-p and min-p, exact logits for logit_bias and the penalties, and seeds.

use ferrocodex_generate::{Sampler, SamplingParams};

const DRAWS: usize = 40_000;

/// The chi-square critical value for `df` degrees of freedom at p = 1e-4 (Wilson–Hilferty).
fn chi2_critical(df: usize) -> f64 {
    let df = df as f64;
    let z = 3.719;
    let a = 2.0 / (9.0 * df);
    df * (1.0 - a + z * a.sqrt()).powi(3)
}

fn softmax(logits: &[f32], t: f32) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let w: Vec<f64> = logits.iter().map(|&l| ((l as f64 - max) / t as f64).exp()).collect();
    let s: f64 = w.iter().sum();
    w.into_iter().map(|x| x / s).collect()
}

/// Keeps the listed token ids and renormalises.
fn restrict(p: &[f64], keep: &[usize]) -> Vec<f64> {
    let mass: f64 = keep.iter().map(|&i| p[i]).sum();
    (0..p.len()).map(|i| if keep.contains(&i) { p[i] / mass } else { 0.0 }).collect()
}

/// Draws DRAWS tokens and checks them against `expected`: no token outside its support, and
/// a chi-square statistic below the p = 1e-4 critical value.
fn check(params: SamplingParams, logits: &[f32], expected: &[f64]) {
    let mut s = Sampler::new(params.clone());
    let mut counts = vec![0usize; logits.len()];
    for _ in 0..DRAWS {
        counts[s.sample(logits) as usize] += 1;
    }
    let mut chi2 = 0.0;
    let mut df = 0;
    for (i, (&c, &p)) in counts.iter().zip(expected).enumerate() {
        if p == 0.0 {
            assert_eq!(c, 0, "{params:?}: token {i} has probability 0 but was drawn {c} times");
            continue;
        }
        let e = p * DRAWS as f64;
        chi2 += (c as f64 - e).powi(2) / e;
        df += 1;
    }
    let crit = chi2_critical(df - 1);
    assert!(chi2 < crit, "{params:?}: chi-square {chi2:.1} ≥ {crit:.1} (df {}); counts {counts:?}", df - 1);
}

fn logits() -> Vec<f32> {
    vec![2.0, 1.5, 1.0, 0.7, 0.2, -0.3, -1.0, -2.0]
}

fn params(temperature: f32, seed: u64) -> SamplingParams {
    SamplingParams {
        temperature,
        seed: Some(seed),
        ..Default::default()
    }
}

#[test]
fn temperature_follows_the_softmax() {
    for (t, seed) in [(1.0, 1), (0.5, 2), (1.7, 3)] {
        check(params(t, seed), &logits(), &softmax(&logits(), t));
    }
}

#[test]
fn the_check_catches_a_wrong_distribution() {
    // Sampling at T = 1 does not follow the T = 0.5 distribution: the test above can fail.
    let mut s = Sampler::new(params(1.0, 9));
    let mut counts = vec![0usize; 8];
    for _ in 0..DRAWS {
        counts[s.sample(&logits()) as usize] += 1;
    }
    let p = softmax(&logits(), 0.5);
    let chi2: f64 = counts
        .iter()
        .zip(&p)
        .map(|(&c, &p)| (c as f64 - p * DRAWS as f64).powi(2) / (p * DRAWS as f64))
        .sum();
    assert!(chi2 > chi2_critical(7), "chi-square {chi2} should reject the wrong temperature");
}

#[test]
fn top_k_keeps_the_k_most_likely() {
    let p = SamplingParams { top_k: 3, ..params(1.0, 4) };
    check(p, &logits(), &restrict(&softmax(&logits(), 1.0), &[0, 1, 2]));
}

#[test]
fn top_p_keeps_the_smallest_nucleus() {
    let probs = softmax(&logits(), 1.0);
    // Cumulative: 0.39, 0.62, 0.77, …: top_p 0.7 needs the first three.
    assert!(probs[0] + probs[1] < 0.7 && probs[0] + probs[1] + probs[2] >= 0.7);
    let p = SamplingParams { top_p: 0.7, ..params(1.0, 5) };
    check(p, &logits(), &restrict(&probs, &[0, 1, 2]));
}

#[test]
fn min_p_keeps_tokens_near_the_top() {
    // At T = 1, p_i / p_max = exp(l_i - 2): ≥ 0.3 for l ≥ 0.796 → tokens 0, 1, 2.
    let probs = softmax(&logits(), 1.0);
    let p = SamplingParams { min_p: 0.3, ..params(1.0, 6) };
    check(p, &logits(), &restrict(&probs, &[0, 1, 2]));
    // min_p applies after temperature: at T = 2 the ratio is exp((l - 2) / 2) → tokens 0..=5.
    let probs = softmax(&logits(), 2.0);
    let p = SamplingParams { min_p: 0.3, ..params(2.0, 7) };
    check(p, &logits(), &restrict(&probs, &[0, 1, 2, 3, 4, 5]));
}

#[test]
fn filters_combine() {
    let probs = softmax(&logits(), 0.8);
    let p = SamplingParams { top_k: 5, top_p: 0.9, ..params(0.8, 8) };
    // The five most likely carry the mass; the nucleus of 0.9 of the five: compute it.
    let five = restrict(&probs, &[0, 1, 2, 3, 4]);
    let mut acc = 0.0;
    let mut keep = Vec::new();
    for (i, q) in five.iter().enumerate().take(5) {
        keep.push(i);
        acc += q;
        if acc >= 0.9 {
            break;
        }
    }
    check(p, &logits(), &restrict(&probs, &keep));
}

#[test]
fn penalties_and_bias_change_the_logits_exactly() {
    let l = logits();
    let mut s = Sampler::new(SamplingParams {
        presence_penalty: 0.5,
        frequency_penalty: 0.25,
        repetition_penalty: 1.5,
        logit_bias: vec![(7, 100.0), (0, -3.0)],
        ..Default::default()
    });
    s.observe_context(&[2]); // prompt token: repetition penalty only
    s.accept(1);
    s.accept(1);
    s.accept(5);
    let got = s.adjust(&l).to_vec();
    let mut want = l.clone();
    want[7] += 100.0;
    want[0] -= 3.0;
    // Repetition penalty on every token in context (2, 1, 5): positive / 1.5, negative × 1.5.
    want[2] /= 1.5;
    want[1] /= 1.5;
    want[5] *= 1.5;
    // OpenAI's penalties on generated tokens: count × frequency + presence.
    want[1] -= 2.0 * 0.25 + 0.5;
    want[5] -= 0.25 + 0.5;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() < 1e-6, "token {i}: {g} vs {w}");
    }
    // Greedy decoding sees the adjusted logits: the +100 bias wins.
    let mut greedy = Sampler::new(SamplingParams {
        logit_bias: vec![(7, 100.0)],
        ..Default::default()
    });
    assert_eq!(greedy.sample(&l), 7);
    // −100 bans a token even when it is by far the most likely.
    let mut banned = Sampler::new(SamplingParams {
        logit_bias: vec![(0, -100.0)],
        ..params(1.0, 3)
    });
    assert!((0..2000).all(|_| banned.sample(&l) != 0));
}

#[test]
fn penalised_sampling_follows_the_adjusted_distribution() {
    let mut adjusted = logits();
    adjusted[0] -= 1.0 + 0.5; // one earlier occurrence: frequency 1.0 + presence 0.5
    let expected = softmax(&adjusted, 1.0);
    let p = SamplingParams {
        presence_penalty: 0.5,
        frequency_penalty: 1.0,
        ..params(1.0, 11)
    };
    let mut s = Sampler::new(p.clone());
    s.accept(0);
    let mut counts = vec![0usize; 8];
    for _ in 0..DRAWS {
        counts[s.sample(&logits()) as usize] += 1;
    }
    let chi2: f64 = counts
        .iter()
        .zip(&expected)
        .map(|(&c, &q)| (c as f64 - q * DRAWS as f64).powi(2) / (q * DRAWS as f64))
        .sum();
    assert!(chi2 < chi2_critical(7), "chi-square {chi2}: counts {counts:?}");
}

#[test]
fn same_seed_same_draws_other_seed_other_draws() {
    let draw = |seed| {
        let mut s = Sampler::new(params(1.0, seed));
        (0..64).map(|_| s.sample(&logits())).collect::<Vec<_>>()
    };
    assert_eq!(draw(42), draw(42));
    assert_ne!(draw(42), draw(43));
}

#[test]
fn a_large_vocabulary_samples_correctly() {
    // 262,144 logits, as in the default model: mass concentrated on a few tokens.
    let mut l = vec![-20.0f32; 262_144];
    for (i, v) in [(10usize, 5.0f32), (20_000, 4.0), (262_143, 4.5)] {
        l[i] = v;
    }
    let probs = softmax(&l, 1.0);
    let p = SamplingParams { top_p: 0.95, ..params(1.0, 12) };
    let mut s = Sampler::new(p);
    let mut seen = std::collections::HashMap::new();
    for _ in 0..5000 {
        *seen.entry(s.sample(&l)).or_insert(0usize) += 1;
    }
    assert!(seen.keys().all(|k| [10, 20_000, 262_143].contains(k)), "{seen:?}");
    let share = seen[&10] as f64 / 5000.0;
    let want = probs[10] / (probs[10] + probs[20_000] + probs[262_143]);
    assert!((share - want).abs() < 0.03, "{share} vs {want}");
}
