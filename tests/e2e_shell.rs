//! System test of the desktop shell: the real app binary, a real webview, real WebDriver — the
//! window's title, the sidebar, and each section it opens (signed in to a real service).

mod support;

use anyhow::{Result, ensure};
use fantoccini::Locator;
use std::time::Duration;
use support::service::Service;
use support::ui::DesktopApp;
use support::{save_window_png, wait_for};

const SECTIONS: &[(&str, &str)] = &[
    ("timer", "Timer"),
    ("screenshots", "Activity › Screenshots"),
    ("settings", "Settings"),
];

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn window_shows_heading_and_switches_sections() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("shell", false).await?;
    let app = DesktopApp::signed_in(&service, &team.owner).await?;
    let client = &app.client;

    let outcome = async {
        let title = client.title().await?;
        ensure!(title == "Shotclock", "window title was {title:?}");

        let brand = wait_for(Duration::from_secs(20), "the sidebar heading", || async {
            let el = client.find(Locator::Css("nav .brand")).await.ok()?;
            el.text().await.ok()
        })
        .await?;
        ensure!(brand == "Shotclock", "sidebar heading was {brand:?}");

        for (id, title) in SECTIONS {
            client
                .find(Locator::Css(&format!("nav button[data-section='{id}']")))
                .await?
                .click()
                .await?;
            let shown = wait_for(Duration::from_secs(10), "the section to switch", || async {
                let main = client.find(Locator::Css("main")).await.ok()?;
                let at = main.attr("data-section").await.ok()??;
                (at == *id).then_some(())?;
                main.find(Locator::Css(".section-title"))
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()
            })
            .await?;
            ensure!(shown == *title, "section {id} showed heading {shown:?}");
            save_window_png(client, &format!("shell-{id}")).await?;
        }
        Ok(())
    }
    .await;

    app.finish("shell", outcome).await
}
