//! Each session operation of the protocol, answered by the session's stages.

use super::*;
use crate::protocol::{
    ApplyBulk, ApplyImport, ApplyOutcome as Outcome, ChooseByKeys, ChoosePerson, ChooseTemplate, CloseFile,
    ConfirmHeaders, Confirmed, DiscardFile, Download, ErrorReport, GoBack, ListGroups, MatchRows, PlanImport,
    PlanReport, PlanRows, PreviewBulk, ResultsReport, ResumeFile, ReviewRows, SetColumn, ShowSession,
    StageFile,
};
use crate::service::handle::{Call, Handle};

impl<S: CrmStore> Handle<S> for ShowSession {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.session_view(self.workflow).await
    }
}

impl<S: CrmStore> Handle<S> for ChooseTemplate {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.choose_template(self.workflow, &self.template_id).await
    }
}

impl<S: CrmStore> Handle<S> for StageFile {
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<SessionView, Failure> {
        let bytes = call.take_bytes().ok_or(Failure::NotStaged(FileProblem::BytesMissing))?;
        svc.stage(
            self.workflow,
            &self.file_name,
            bytes,
            self.options,
            &self.remembered,
            call.now_ms,
            call.ticker,
        )
        .await
    }
}

impl<S: CrmStore> Handle<S> for ResumeFile {
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.resume(self.workflow, self.options, &self.remembered, call.ticker).await
    }
}

impl<S: CrmStore> Handle<S> for DiscardFile {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.discard(self.workflow).await
    }
}

impl<S: CrmStore> Handle<S> for CloseFile {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.close(self.workflow).await
    }
}

impl<S: CrmStore> Handle<S> for SetColumn {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.set_column(self.workflow, self.template_column, self.file_column).await
    }
}

impl<S: CrmStore> Handle<S> for ConfirmHeaders {
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<Confirmed, Failure> {
        let (view, remember) = svc.confirm_headers(self.workflow, call.ticker).await?;
        Ok(Confirmed { view, remember })
    }
}

impl<S: CrmStore> Handle<S> for ReviewRows {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<RowsPage, Failure> {
        svc.review_rows(self.workflow, self.start, self.count, self.only_problems)
    }
}

impl<S: CrmStore> Handle<S> for ErrorReport {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Download, Failure> {
        svc.error_report(self.workflow)
    }
}

impl<S: CrmStore> Handle<S> for MatchRows {
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.match_rows(self.workflow, call.ticker).await
    }
}

impl<S: CrmStore> Handle<S> for ListGroups {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<GroupsPage, Failure> {
        svc.groups(self.workflow, self.start, self.count, self.matched).await
    }
}

impl<S: CrmStore> Handle<S> for PreviewBulk {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<BulkPreview, Failure> {
        svc.bulk_preview(self.workflow, self.action)
    }
}

impl<S: CrmStore> Handle<S> for ApplyBulk {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.bulk_apply(self.workflow, self.action).await
    }
}

impl<S: CrmStore> Handle<S> for ChoosePerson {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.choose(self.workflow, self.group, self.choice).await
    }
}

impl<S: CrmStore> Handle<S> for ChooseByKeys {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Vec<String>, Failure> {
        svc.choose_by_keys(self.workflow, &self.choices).await
    }
}

impl<S: CrmStore> Handle<S> for PlanImport {
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.plan(self.workflow, self.options, call.ticker).await
    }
}

impl<S: CrmStore> Handle<S> for PlanRows {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<RowsPage, Failure> {
        svc.plan_rows(self.workflow, self.start, self.count, self.only_changes)
    }
}

impl<S: CrmStore> Handle<S> for PlanReport {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Download, Failure> {
        svc.plan_report(self.workflow).await
    }
}

impl<S: CrmStore> Handle<S> for ApplyImport {
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<Outcome, Failure> {
        let request = ApplyRequest {
            operator_login: &self.operator_login,
            again: self.again,
            valid_rows_only: self.valid_rows_only,
            now_ms: call.now_ms,
        };
        let started = (call.clock)();
        svc.apply(self.workflow, request, started, call.clock, call.ticker).await
    }
}

impl<S: CrmStore> Handle<S> for ResultsReport {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Download, Failure> {
        svc.results_report(self.workflow)
    }
}

impl<S: CrmStore> Handle<S> for GoBack {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.back(self.workflow).await
    }
}
