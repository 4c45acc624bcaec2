//! Integration tests: the sandbox platform and the daemon on ephemeral loopback ports, real
//! sled files and real CSV files in temp directories, time driven by a manual clock.

mod alerts;
mod backfill;
mod browser;
mod chaos;
mod check;
mod crash;
mod delivery;
mod demo;
mod discover;
mod disks;
mod expected;
mod field_sets;
mod fields;
mod helpers;
mod live;
mod mail;
mod meta_insights;
mod oauth_providers;
mod operations;
mod outputs;
mod pending;
mod platforms;
mod postgres;
mod reconnect;
mod scheduling;
mod settings;
mod sheets;
mod stopping;
mod tokens;
mod web;
