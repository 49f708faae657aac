//! Publishing pipelines: pipeline files, fetching, tidying, the validation gate with its
//! personal-data screen, provenance, publishing through the store, and the scheduler.
//!
//! A run ([`run::run`]) goes through the stages of [`stage`]: fetch → tidy → gate → link →
//! convert → publish, reading one [`mapping::Mapping`]. Errors anywhere before publishing
//! leave the live release as it was; every run leaves a [`report::Report`] (text, JSON, HTML)
//! under the store's `runs/`.

pub use fivestar_config as config;
pub mod edit;
pub mod fetch;
pub mod inspect;
pub mod jobs;
pub mod mapping;
pub mod preview;
pub mod report;
pub mod run;
pub mod sample;
pub mod schedule;
pub mod screen;
pub mod stage;
pub mod state;
pub mod web;

pub use config::{ConfigError, Instance, Pipeline};
pub use report::{Outcome, Problem, Report, Severity, LISTED_PER_RULE};
pub use run::{run, Context, Progress, Quiet, RunOptions, Stage};

pub use chrono;
