//! A throwaway PostgreSQL server for tests: Debian's `postgresql` binaries, `initdb` in a
//! temporary directory, started on a free loopback port and stopped when dropped.
//!
//! PostgreSQL refuses to run as root, so when the tests do (CI), the server runs as the
//! `postgres` system user the package creates, through `runuser`, and owns its directory.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running server; stopped (immediately: its data is thrown away) on drop.
#[derive(Debug)]
pub struct TestServer {
    bin: PathBuf,
    /// Kept for its removal on drop, after the server stopped.
    dir: tempfile::TempDir,
    port: u16,
    as_postgres_user: bool,
}

/// The user the server and its files belong to when the tests run as root.
const SYSTEM_USER: &str = "postgres";
/// The superuser `initdb` creates; trusted on loopback, so URLs need no password.
const SUPERUSER: &str = "adsync";

impl TestServer {
    /// Starts a server, or says why it cannot (no binaries installed, initdb failed...).
    pub fn start() -> Result<Self, String> {
        let bin = server_binaries().ok_or(
            "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin: install Debian's postgresql package",
        )?;
        let dir = tempfile::Builder::new()
            .prefix("adsync-pg-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let as_postgres_user = running_as_root();
        if as_postgres_user {
            run(Command::new("chown").arg(format!("{SYSTEM_USER}:")).arg(dir.path()))?;
        }
        let port = free_port()?;
        let server = Self {
            bin,
            dir,
            port,
            as_postgres_user,
        };
        let data = server.dir.path().join("data");
        server.run_server_tool(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                "--auth=trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        let options = format!(
            "-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            sockets = server.dir.path().display()
        );
        let log = server.dir.path().join("server.log");
        server.run_server_tool(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        )?;
        Ok(server)
    }

    /// Creates the database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, String> {
        run(Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-U", SUPERUSER, "-p"])
            .arg(self.port.to_string())
            .arg(name))?;
        Ok(self.url(name))
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{name}", self.port)
    }

    fn run_server_tool(&self, tool: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", SYSTEM_USER, "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        // The server's working directory must be one it may read.
        command.args(args).current_dir(self.dir.path());
        run(&mut command).map_err(|e| {
            let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
            format!("{e}\n{log}")
        })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self.run_server_tool(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "stop".as_ref(),
            ],
        );
    }
}

/// The directory holding `initdb`, `pg_ctl` and `createdb`: on PATH, else Debian's newest version.
fn server_binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .find(|dir| is_server_dir(dir));
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|dir| is_server_dir(dir))
            .collect();
        versions.sort_by_key(|dir| {
            dir.parent()
                .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
                .unwrap_or(0)
        });
        versions.pop()
    })
}

fn is_server_dir(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "createdb"]
        .iter()
        .all(|tool| dir.join(tool).is_file())
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn run(command: &mut Command) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{:?} failed ({}): {}{}",
        command.get_program(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}
