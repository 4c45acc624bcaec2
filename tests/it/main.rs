//! Integration tests: the sandbox platform and the daemon on ephemeral loopback ports, real
//! sled files and real CSV files in temp directories, time driven by a manual clock.

mod backfill;
mod browser;
mod check;
mod crash;
mod delivery;
mod demo;
mod expected;
mod helpers;
mod mail;
mod oauth_providers;
mod outputs;
mod pending;
mod platforms;
mod reconnect;
mod scheduling;
mod settings;
mod sheets;
mod tokens;
mod web;
