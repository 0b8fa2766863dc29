//! The reader against files made by the writer, and against damaged and hostile files.

use std::path::Path;
use std::sync::Arc;

use ferrocodex_gguf::{GgmlType, GgufError, GgufFile, GgufWriter, Value};
use proptest::prelude::*;

fn sample_writer() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", Value::String("llama".into()))
        .add_metadata("u8", Value::U8(7))
        .add_metadata("i8", Value::I8(-7))
        .add_metadata("u16", Value::U16(700))
        .add_metadata("i16", Value::I16(-700))
        .add_metadata("u32", Value::U32(70_000))
        .add_metadata("i32", Value::I32(-70_000))
        .add_metadata("f32", Value::F32(1.5))
        .add_metadata("bool", Value::Bool(true))
        .add_metadata("u64", Value::U64(1 << 40))
        .add_metadata("i64", Value::I64(-(1 << 40)))
        .add_metadata("f64", Value::F64(-2.25))
        .add_metadata("strings", Value::Array(vec![Value::String("a".into()), Value::String("ü".into())]))
        .add_metadata(
            "nested",
            Value::Array(vec![Value::Array(vec![Value::I32(1), Value::I32(2)]), Value::Array(vec![])]),
        );
    w.add_f32_tensor("vec", &[4], &[1.0, 2.0, 3.0, 4.0]);
    w.add_tensor("q8", &[32, 2], GgmlType::Q8_0, vec![1u8; 68]);
    w
}

fn parse(bytes: Vec<u8>) -> Result<GgufFile, GgufError> {
    GgufFile::from_bytes(Path::new("test.gguf"), Arc::new(bytes))
}

#[test]
fn round_trip_preserves_every_value_type_and_tensor() {
    let w = sample_writer();
    let f = parse(w.to_bytes().unwrap()).unwrap();
    assert_eq!(f.version(), 3);
    assert_eq!(f.get_str("general.architecture"), Some("llama"));
    assert_eq!(f.get("u8"), Some(&Value::U8(7)));
    assert_eq!(f.get("i8"), Some(&Value::I8(-7)));
    assert_eq!(f.get("u16"), Some(&Value::U16(700)));
    assert_eq!(f.get("i16"), Some(&Value::I16(-700)));
    assert_eq!(f.get_u64("u32"), Some(70_000));
    assert_eq!(f.get("i32"), Some(&Value::I32(-70_000)));
    assert_eq!(f.get_f64("f32"), Some(1.5));
    assert_eq!(f.get_bool("bool"), Some(true));
    assert_eq!(f.get_u64("u64"), Some(1 << 40));
    assert_eq!(f.get("i64").and_then(Value::as_i64), Some(-(1 << 40)));
    assert_eq!(f.get_f64("f64"), Some(-2.25));
    assert_eq!(f.get_array("strings").unwrap()[1].as_str(), Some("ü"));
    assert_eq!(f.get_array("nested").unwrap()[0].as_array().unwrap().len(), 2);
    let v = f.tensor("vec").unwrap();
    assert_eq!(v.dims, vec![4]);
    assert_eq!(f.tensor_data(v), &[1.0f32, 2.0, 3.0, 4.0].map(f32::to_le_bytes).concat()[..]);
    let q = f.tensor("q8").unwrap();
    assert_eq!((q.dtype, q.size, q.offset % 32), (GgmlType::Q8_0, 68, 0));
}

#[test]
fn file_on_disk_is_written_atomically_and_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    sample_writer().write_file(&path).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "no temporary file is left behind: {names:?}");
    let f = GgufFile::open(&path).unwrap();
    assert_eq!(f.tensors().len(), 2);
}

#[test]
fn missing_file_names_the_path() {
    let err = GgufFile::open(Path::new("/nonexistent/model.gguf")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/model.gguf"), "{err}");
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let bytes = sample_writer().to_bytes().unwrap();
    for len in 0..bytes.len() - 1 {
        // The final padding after the last tensor is not needed; everything before its end is.
        let last_end = {
            let f = parse(bytes.clone()).unwrap();
            f.tensors().iter().map(|t| t.offset + t.size).max().unwrap() as usize
        };
        let r = parse(bytes[..len].to_vec());
        if len < last_end {
            let err = r.err().unwrap_or_else(|| panic!("truncation at {len} accepted"));
            let msg = err.to_string();
            assert!(msg.contains("test.gguf"), "{msg}");
        }
    }
}

#[test]
fn wrong_magic_is_named() {
    let mut bytes = sample_writer().to_bytes().unwrap();
    bytes[0] = b'X';
    let err = parse(bytes).unwrap_err();
    assert!(matches!(err, GgufError::BadMagic { .. }), "{err}");
    assert!(err.to_string().contains("not a GGUF model file"));
}

#[test]
fn unsupported_version_is_named() {
    let mut bytes = sample_writer().to_bytes().unwrap();
    bytes[4..8].copy_from_slice(&1u32.to_le_bytes());
    assert!(parse(bytes).unwrap_err().to_string().contains("version 1"));
}

#[test]
fn absurd_counts_are_rejected_before_allocating() {
    let good = sample_writer().to_bytes().unwrap();
    let mut bytes = good.clone();
    bytes[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(parse(bytes).unwrap_err().to_string().contains("tensors"));
    let mut bytes = good.clone();
    bytes[16..24].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    assert!(parse(bytes).unwrap_err().to_string().contains("metadata entries"));
}

#[test]
fn absurd_array_length_is_rejected() {
    let mut w = GgufWriter::new();
    w.add_metadata("a", Value::Array(vec![Value::U32(1)]));
    let mut bytes = w.to_bytes().unwrap();
    // header 24 + key (8 + 1) + type 4 + item type 4 = 41: the array count follows.
    bytes[41..49].copy_from_slice(&(1u64 << 60).to_le_bytes());
    let err = parse(bytes).unwrap_err().to_string();
    assert!(err.contains("claims"), "{err}");
}

#[test]
fn tensor_past_the_end_is_named() {
    let mut w = GgufWriter::new();
    w.add_f32_tensor("big", &[1024], &vec![0.0; 1024]);
    let bytes = w.to_bytes().unwrap();
    let err = parse(bytes[..bytes.len() - 100].to_vec()).unwrap_err().to_string();
    assert!(err.contains("tensor big") && err.contains("past the end"), "{err}");
}

#[test]
fn unknown_tensor_type_and_bad_shapes_are_named() {
    let mut w = GgufWriter::new();
    w.add_f32_tensor("t", &[4], &[0.0; 4]);
    let bytes = w.to_bytes().unwrap();
    parse(bytes.clone()).unwrap();
    // Layout: header 24, name (8 + 1), n_dims 4, dim 8, type at 45.
    let mut b = bytes.clone();
    b[45..49].copy_from_slice(&99u32.to_le_bytes());
    assert!(parse(b).unwrap_err().to_string().contains("unknown element type 99"));
    let mut b = bytes.clone();
    b[33..37].copy_from_slice(&9u32.to_le_bytes());
    assert!(parse(b).unwrap_err().to_string().contains("dimensions"));
    let mut b = bytes;
    b[37..45].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(parse(b).is_err());
}

#[test]
fn bad_alignment_and_bad_booleans_are_rejected() {
    let mut w = GgufWriter::new();
    w.add_metadata("general.alignment", Value::U32(3));
    let err = parse(w.to_bytes().unwrap()).unwrap_err().to_string();
    assert!(err.contains("power of two"), "{err}");

    let mut bytes = b"GGUF".to_vec();
    bytes.extend_from_slice(&3u32.to_le_bytes());
    bytes.extend_from_slice(&0u64.to_le_bytes());
    bytes.extend_from_slice(&1u64.to_le_bytes());
    bytes.extend_from_slice(&1u64.to_le_bytes());
    bytes.push(b'k');
    bytes.extend_from_slice(&7u32.to_le_bytes());
    bytes.push(5);
    assert!(parse(bytes).unwrap_err().to_string().contains("boolean"));
}

#[test]
fn duplicate_keys_are_rejected() {
    let mut bytes = b"GGUF".to_vec();
    bytes.extend_from_slice(&3u32.to_le_bytes());
    bytes.extend_from_slice(&0u64.to_le_bytes());
    bytes.extend_from_slice(&2u64.to_le_bytes());
    for _ in 0..2 {
        bytes.extend_from_slice(&1u64.to_le_bytes());
        bytes.push(b'k');
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.push(1);
    }
    assert!(parse(bytes).unwrap_err().to_string().contains("appears twice"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// Random damage anywhere in a valid file never panics.
    #[test]
    fn random_corruption_never_panics(pos in 0usize..400, byte in any::<u8>(), cut in 0usize..400) {
        let mut bytes = sample_writer().to_bytes().unwrap();
        let p = pos % bytes.len();
        bytes[p] = byte;
        let c = cut.min(bytes.len());
        let _ = parse(bytes[..bytes.len() - c / 4].to_vec());
    }

    /// Random bytes after a valid magic and version never panic.
    #[test]
    fn random_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = b"GGUF".to_vec();
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(&tail);
        let _ = parse(bytes);
    }
}
