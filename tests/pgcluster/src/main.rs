//! `safe-test-postgres`: a throw-away PostgreSQL cluster for the bindings' tests.
//!
//! Prints one line, the URL of database `postgres` as the superuser (create the databases you
//! need with it), then serves until its standard input closes (the test process exits, or
//! closes the pipe) and removes the cluster.

use std::io::Read;

fn main() {
    let cluster = safe_test_postgres::Cluster::start();
    println!("{}", cluster.url("postgres"));
    // Until the parent closes our stdin (or dies): then the cluster stops and is removed.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(cluster);
}
