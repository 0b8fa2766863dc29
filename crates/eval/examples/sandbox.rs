//! Runs one Python snippet in the sandbox and prints what isolation was obtained and how the
//! program ended: `cargo run -p ferrocodex-eval --example sandbox -- 'print(6 * 7)'`.

use ferrocodex_eval::sandbox::{Program, Sandbox, SandboxOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sb = Sandbox::new(SandboxOptions::default())?;
    println!("{}", sb.isolation().summary());
    let src = std::env::args().nth(1).unwrap_or_else(|| "print(6 * 7)".into());
    let out = sb.run(&Program::script(&src))?;
    println!("termination: {:?} after {:?}", out.termination, out.elapsed);
    println!("stdout: {}", String::from_utf8_lossy(&out.stdout));
    println!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}
