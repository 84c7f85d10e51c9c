//! Block-based sorted tables for Strata (work in progress).
