//! Samples grouped by problem, in file order.

use std::collections::BTreeMap;
use std::path::Path;

use crate::samples::{read_samples, Sample};
use crate::EvalError;

pub struct SampleSet {
    pub samples: Vec<Sample>,
    /// Indices into `samples`, per task id.
    pub by_task: BTreeMap<String, Vec<usize>>,
}

impl SampleSet {
    pub fn read(path: &Path) -> Result<SampleSet, EvalError> {
        Ok(SampleSet::new(read_samples(path)?))
    }

    pub fn new(samples: Vec<Sample>) -> SampleSet {
        let mut by_task: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, s) in samples.iter().enumerate() {
            by_task.entry(s.task_id.clone()).or_default().push(i);
        }
        SampleSet { samples, by_task }
    }
}
