//! The integration tests of workflow-audit, in one test binary (`cargo test -p workflow-audit
//! --test it`): one link instead of one per file.

mod parser_props;
mod rules;
