//! The two things streamgate asks of ffmpeg: how long a recording is (ffprobe), and a clip of it
//! cut by stream copy (no re-encoding). Each run is bounded in time and killed when dropped; its
//! error output is cut short, and the file names it was given are taken out of it (a recording's
//! name holds the job's stream name, the encoder's secret).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// The longest a probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a cut may take (stream copy runs at disk speed).
const CUT_TIMEOUT: Duration = Duration::from_secs(600);

async fn run(mut cmd: Command, timeout: Duration, files: &[&Path]) -> Result<Vec<u8>, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.as_std().get_program()))?;
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| format!("gave up after {} s", timeout.as_secs()))?
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let mut last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string();
        for f in files {
            let shown = f.to_string_lossy();
            if !shown.is_empty() {
                last = last.replace(shown.as_ref(), "<file>");
            }
        }
        let last: String = last.chars().take(300).collect();
        Err(format!("exited with {}: {last}", out.status))
    }
}

/// The duration of a media file, in milliseconds.
pub async fn duration_ms(ffprobe: &str, file: &Path) -> Result<i64, String> {
    let mut cmd = Command::new(ffprobe);
    cmd.args([
        "-v",
        "error",
        "-show_entries",
        "format=duration",
        "-of",
        "default=noprint_wrappers=1:nokey=1",
    ])
    .arg(file);
    let out = run(cmd, PROBE_TIMEOUT, &[file])
        .await
        .map_err(|e| format!("ffprobe {e}"))?;
    let text = String::from_utf8_lossy(&out);
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("ffprobe found no duration ({:?})", text.trim()))?;
    if !secs.is_finite() || secs < 0.0 {
        return Err("ffprobe found no duration".into());
    }
    Ok((secs * 1000.0).round() as i64)
}

/// Cuts `len` seconds from `start` of `input` into the MP4 `output`, by stream copy (the cut
/// begins at the key frame at or before `start`).
pub async fn cut(
    ffmpeg: &str,
    input: &Path,
    start: f64,
    len: f64,
    output: &Path,
) -> Result<(), String> {
    let mut cmd = Command::new(ffmpeg);
    cmd.args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(["-ss", &format!("{start:.3}")])
        .arg("-i")
        .arg(input)
        .args(["-t", &format!("{len:.3}")])
        .args([
            "-map",
            "0",
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
        ])
        .arg(output);
    run(cmd, CUT_TIMEOUT, &[input, output])
        .await
        .map(|_| ())
        .map_err(|e| format!("ffmpeg {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ffprobe's complaint about a file names it: the name (a job's stream name) is taken out.
    #[tokio::test]
    async fn errors_never_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("SecretStreamName123-1700000000.flv");
        std::fs::write(&file, b"not media at all").unwrap();
        let Err(e) = duration_ms("ffprobe", &file).await else {
            panic!("garbage has no duration");
        };
        assert!(!e.contains("SecretStreamName123"), "{e}");
        assert!(e.starts_with("ffprobe "), "{e}");
    }
}
