//! The workspace's single sign-on settings from the desktop app (R31): read, save and unlink,
//! each one call to the service (online only; nothing of them is kept here). The service
//! checks the role and the provider; these methods only pass its answer on. The client secret
//! travels only towards the service and is never answered back.

use shotclock_api::sso::{SsoSettings, SsoSettingsUpdate};

use crate::agent::AgentHandle;
use crate::error::AgentError;

impl AgentHandle {
    /// The workspace's identity provider settings (admins).
    pub async fn sso_settings(&self) -> Result<SsoSettings, AgentError> {
        Ok(self.shared().service.client.sso_settings().await?)
    }

    /// Links the workspace to an identity provider or changes the link (admins); the service
    /// fetches the provider's discovery document and keys before it stores anything.
    pub async fn set_sso_settings(
        &self,
        update: SsoSettingsUpdate,
    ) -> Result<SsoSettings, AgentError> {
        Ok(self
            .shared()
            .service
            .client
            .set_sso_settings(&update)
            .await?)
    }

    /// Unlinks the workspace's identity provider (admins).
    pub async fn unlink_sso(&self) -> Result<(), AgentError> {
        Ok(self.shared().service.client.unlink_sso().await?)
    }
}
