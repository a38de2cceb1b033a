//! System tests of the desktop app: the real `shotclock` binary in a real webview, driven over
//! WebDriver (tauri-driver), against the real workspace service on a real `127.0.0.1` port with
//! a 4-second capture window. Each test has its own service, team and app data directory.
//!
//! What they prove, end to end:
//! 1. a member signs in through the form, starts a timer (the capture indicator turns on), and
//!    the screenshots the app takes show in Activity › Screenshots with the count the service
//!    holds (and none the day before); the gallery opens and steps with its buttons and the
//!    arrow keys, and Esc closes it (R2, R7, R8, R17);
//! 2. a member's delete of a screenshot of a stopped entry states the time it removes before
//!    anything happens, and the entry shrinks by exactly that; deleting its last screenshot
//!    deletes the entry (R19, R21);
//! 3. a screenshot of the running timer cannot be deleted: "stop the timer first" (R20);
//! 4. an admin sees every member with their count, and deletes a member's screenshot without
//!    touching the member's time (R16, R17, R22);
//! 5. a member sees only themself, and the image of another member's screenshot answers 404
//!    exactly like a missing one (R16);
//! 6. when an admin turns capture on, a signed-in member's app shows the banner and the OS
//!    notification is delivered (R6);
//! 7. the session token lives in the OS keyring (a real Secret Service), survives a restart, and
//!    signing out forgets it (R2, R3);
//! 8. the app starts signed in while the service is down, the timer works offline, and the entry
//!    reaches the service once it is back (R25);
//! 9. with the service down, a screenshot taken offline shows in Activity › Screenshots marked
//!    "waiting to sync" and is deleted there with the dry run answered on this computer; once
//!    the service is back it never receives that screenshot, and the entry loses exactly the
//!    time the dry run said (R19, R21, R25);
//! 10. when an admin opens a member's screenshot, the member's app shows "viewed by" with the
//!     admin's name and time on it and in the last 7 days' list; the member's own views add
//!     nothing (R35);
//! 11. an admin opens Members, invites by email and gets the link to copy, sees the pending
//!     invitation, withdraws it, and makes a member an admin (the service holds each change);
//!     the owner's row has no controls; a member reads the same list without any control or
//!     presence (R38);
//! 12. a member signs in with "Sign in with SSO": the app hands its start URL to the test (the
//!     test hook, instead of opening a browser), Chromium signs in at a real OpenID provider's
//!     login page and lands on the app's loopback page; the app is signed in with the token in
//!     the keyring, resumes after a restart without a password, and its timer captures (R31).
//!
//! Everything is selected through the selector contract (`data-testid`); every wait polls with a
//! deadline. Run by `cargo xtask test` (Xvfb, `dbus-run-session` with an unlocked gnome-keyring,
//! dunst, tauri-driver).

mod support;

use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use shotclock_api::ErrorCode;
use shotclock_api::dto::DeleteKind;
use support::service::{
    self, Service, entry, now_secs, record_entry, screenshots_today, set_screenshots, today,
};
use support::ui::{DesktopApp, LONG, MEDIUM, SHORT, tid};
use support::{notify::Dunst, save_window_png, wait_for};

/// `[data-testid=member-row]` of `user`.
fn member_row(user: &service::Person) -> String {
    format!("{}[data-user-id='{}']", tid("member-row"), user.id)
}

/// `[data-testid=thumb]` of screenshot `id`.
fn thumb(id: impl std::fmt::Display) -> String {
    format!("{}[data-screenshot-id='{id}']", tid("thumb"))
}

/// `[data-testid=entry]` of entry `id` in the Timer view.
fn entry_row(id: impl std::fmt::Display) -> String {
    format!("{}[data-entry-id='{id}']", tid("entry"))
}

/// Opens Activity › Screenshots and expands `user`'s row; returns the row's selector.
async fn show_screenshots_of(app: &DesktopApp, user: &service::Person) -> Result<String> {
    app.open_section("screenshots").await?;
    app.wait_attr(&tid("day-label"), "data-date", &today().to_string(), SHORT)
        .await?;
    let row = member_row(user);
    app.click(&format!("{row} {}", tid("member-toggle")))
        .await?;
    Ok(row)
}

/// Hovers screenshot `id`'s thumbnail, clicks its trash button and waits for the confirmation.
async fn ask_to_delete(app: &DesktopApp, id: impl std::fmt::Display) -> Result<String> {
    let thumb_css = thumb(id);
    let thumb = app.wait_element(&thumb_css, MEDIUM).await?;
    let trash = thumb
        .find(Locator::Css(&tid("thumb-delete")))
        .await
        .context("the thumbnail has no trash button")?;
    app.hover_then_click(&thumb, &trash).await?;
    let dialog = tid("confirm-delete");
    app.wait_element(&dialog, MEDIUM).await?;
    Ok(dialog)
}

/// Waits until the gallery shows screenshot `i` of `ids`, and says so ("2 / 5").
async fn gallery_at(app: &DesktopApp, ids: &[String], i: usize) -> Result<()> {
    app.wait_attr(&tid("gallery"), "data-screenshot-id", &ids[i], SHORT)
        .await?;
    let pos = app.text(&tid("gallery-position")).await;
    let want = format!("{} / {}", i + 1, ids.len());
    ensure!(
        pos.as_deref() == Some(want.as_str()),
        "the gallery says {pos:?} at screenshot {want}"
    );
    Ok(())
}

// ---- 1 -------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn member_signs_in_tracks_time_and_browses_the_screenshots() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("gallery", true).await?;
    let ana = service.sign_in(&team.ana).await?;
    let app = DesktopApp::signed_out().await?;

    let outcome = async {
        // Sign in through the form (R2).
        let form = tid("sign-in");
        app.wait_element(&form, MEDIUM).await?;
        // No field has focus on load (its caret would repaint the window all the time); typing
        // with nothing focused starts in the first empty field.
        let focused = "return document.activeElement && document.activeElement.name || null";
        let before = app.client.execute(focused, vec![]).await?;
        ensure!(before.is_null(), "{before} has focus on load");
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: 'h' })
            .then(KeyAction::Up { value: 'h' });
        app.client.perform_actions(keys).await?;
        app.client.release_actions().await?;
        let after = app.client.execute(focused, vec![]).await?;
        ensure!(after == "server_url", "typing focused {after}");
        let typed = app
            .wait_element(&format!("{form} input[name=server_url]"), SHORT)
            .await?
            .prop("value")
            .await?;
        ensure!(typed.as_deref() == Some("h"), "the field holds {typed:?}");
        app.type_into(&format!("{form} input[name=server_url]"), &service.url())
            .await?;
        app.type_into(&format!("{form} input[name=email]"), &team.ana.email)
            .await?;
        app.type_into(&format!("{form} input[name=password]"), service::PASSWORD)
            .await?;
        save_window_png(&app.client, "sign-in").await?;
        app.click(&format!("{form} button[type=submit]")).await?;
        app.wait_signed_in(&team.ana).await?;

        // Start a timer; it runs in the app and at the service.
        let description = "Quarterly report";
        app.open_section("timer").await?;
        app.type_into(&tid("timer-description"), description)
            .await?;
        app.click(&tid("timer-toggle")).await?;
        app.wait_attr(&tid("timer-toggle"), "data-running", "true", MEDIUM)
            .await?;
        // Capture is on and plainly shown while the timer runs (R7).
        app.wait_attr(&tid("capture-indicator"), "data-state", "active", MEDIUM)
            .await?;
        let running = wait_for(MEDIUM, "the service to see the running timer", || async {
            ana.timer().await.ok()?.running
        })
        .await?;
        ensure!(
            running.description == description,
            "the service runs {:?}",
            running.description
        );
        let first = app.text(&tid("timer-elapsed")).await.unwrap_or_default();
        wait_for(SHORT, "the running time to tick", || async {
            let now = app.text(&tid("timer-elapsed")).await?;
            (now != first && now != "0:00:00").then_some(())
        })
        .await?;
        save_window_png(&app.client, "timer").await?;

        // The app captures while the timer runs (R8); two screenshots make a gallery to step in.
        wait_for(
            LONG,
            "two screenshots of the running entry at the service",
            || async {
                let shots = screenshots_today(&ana, &team.ana).await.ok()?;
                (shots.iter().filter(|s| s.entry_id == running.id).count() >= 2).then_some(())
            },
        )
        .await?;
        app.click(&tid("timer-toggle")).await?;
        app.wait_attr(&tid("timer-toggle"), "data-running", "false", MEDIUM)
            .await?;
        app.wait_attr(&tid("capture-indicator"), "data-state", "off", MEDIUM)
            .await?;
        wait_for(MEDIUM, "the service to see the timer stopped", || async {
            ana.timer().await.ok()?.running.is_none().then_some(())
        })
        .await?;

        // Activity › Screenshots, a day at a time (R17): yesterday she has none; back to today,
        // whose count is the one the service holds.
        app.open_section("screenshots").await?;
        let row = member_row(&team.ana);
        let count_css = format!("{row} {}", tid("member-count"));
        let yesterday = today().pred_opt().context("no day before today")?;
        app.click(&tid("day-prev")).await?;
        app.wait_attr(
            &tid("day-label"),
            "data-date",
            &yesterday.to_string(),
            SHORT,
        )
        .await?;
        app.wait_attr(&count_css, "data-count", "0", MEDIUM).await?;
        app.click(&tid("day-next")).await?;
        app.wait_attr(&tid("day-label"), "data-date", &today().to_string(), SHORT)
            .await?;
        let next = app.wait_element(&tid("day-next"), SHORT).await?;
        ensure!(!next.is_enabled().await?, "`>` goes past today");
        let shots = wait_for(MEDIUM, "the shown count to match the service's", || async {
            let shots = screenshots_today(&ana, &team.ana).await.ok()?;
            let shown = app.int_attr(&count_css, "data-count").await.ok()?;
            (shown == shots.len() as i64 && shots.len() >= 2).then_some(shots)
        })
        .await?;
        let count_text = app.text(&count_css).await.unwrap_or_default();
        ensure!(
            count_text.trim() == shots.len().to_string(),
            "the count reads {count_text:?}, the service holds {}",
            shots.len()
        );

        // Expanded: every screenshot, oldest first, each image served to the page.
        app.click(&format!("{row} {}", tid("member-toggle")))
            .await?;
        let ids = wait_for(MEDIUM, "the thumbnails", || async {
            let mut ids = Vec::new();
            for el in app.find_all(&format!("{row} {}", tid("thumb"))).await {
                ids.push(el.attr("data-screenshot-id").await.ok()??);
            }
            (ids.len() == shots.len()).then_some(ids)
        })
        .await?;
        let want: Vec<String> = shots.iter().map(|s| s.id.to_string()).collect();
        ensure!(ids == want, "thumbnails {ids:?}, service {want:?}");
        let src = app
            .attr(&format!("{} img", thumb(&ids[0])), "src")
            .await
            .context("the thumbnail has no image")?;
        ensure!(
            app.fetch_status(&src).await? == 200,
            "the thumbnail image {src} is not served"
        );

        // The gallery: opens on the clicked screenshot, steps with buttons and arrow keys.
        let gallery = tid("gallery");
        let at = |i: usize| gallery_at(&app, &ids, i);
        app.click(&thumb(&ids[0])).await?;
        at(0).await?;
        save_window_png(&app.client, "gallery").await?;
        app.click(&tid("gallery-next")).await?;
        at(1).await?;
        app.click(&tid("gallery-prev")).await?;
        at(0).await?;
        app.press(Key::Right).await?;
        at(1).await?;
        app.press(Key::Left).await?;
        at(0).await?;
        app.press(Key::Escape).await?;
        app.wait_gone(&gallery, SHORT).await?;
        Ok(())
    }
    .await;
    app.finish("member-browses", outcome).await
}

// ---- 2 -------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn member_deletes_screenshots_of_a_stopped_entry() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("deletes", true).await?;
    let ana = service.sign_in(&team.ana).await?;
    // A stopped entry of 120 s with screenshots at +30 s and +75 s, made as a device would.
    let rec = record_entry(&ana, "Client call notes", 120, &[30, 75]).await?;
    let (earlier, later) = (rec.shots[0], rec.shots[1]);
    // R21: a member's delete removes the time back to the screenshot before it.
    let full = (rec.end - rec.start).num_seconds();
    let removed = (later.1 - earlier.1).num_seconds();
    let dry = ana.delete_screenshot(later.0, true).await?;
    ensure!(
        dry.removed_secs == removed && dry.decision == DeleteKind::DeleteScreenshot,
        "the service's dry run says {dry:?}; R21 says {removed} s"
    );

    let app = DesktopApp::signed_in(&service, &team.ana).await?;
    let outcome = async {
        let row = entry_row(rec.entry);
        let duration = format!("{row} {}", tid("entry-duration"));
        let removed_css = format!("{row} {}", tid("entry-removed"));
        app.wait_attr(&duration, "data-seconds", &full.to_string(), MEDIUM)
            .await?;
        ensure!(
            app.find(&removed_css).await.is_none(),
            "nothing was removed yet"
        );

        // Ask to delete the later screenshot: the dialog says how much time goes, from where.
        show_screenshots_of(&app, &team.ana).await?;
        let dialog = ask_to_delete(&app, later.0).await?;
        app.wait_attr(&dialog, "data-allowed", "true", SHORT)
            .await?;
        let shown = app.int_attr(&dialog, "data-removed-secs").await?;
        ensure!(
            shown == removed,
            "the dialog removes {shown} s, R21 says {removed} s"
        );
        app.wait_attr(&dialog, "data-decision", "delete_screenshot", SHORT)
            .await?;
        let effect = app.text(&tid("confirm-effect")).await.unwrap_or_default();
        ensure!(
            effect.contains(&format!("{removed} s")) && effect.contains("Client call notes"),
            "the dialog says {effect:?}"
        );
        let warning = app.text(&tid("confirm-warning")).await.unwrap_or_default();
        ensure!(
            warning.to_lowercase().contains("permanent"),
            "no warning that it is permanent: {warning:?}"
        );
        save_window_png(&app.client, "delete-confirmation").await?;
        app.click(&tid("confirm-ok")).await?;
        app.wait_gone(&dialog, MEDIUM).await?;
        app.wait_gone(&thumb(later.0), MEDIUM).await?;

        // The entry is shorter by exactly that, at the service and in the Timer view.
        let after = entry(&ana, rec.entry, None)
            .await?
            .context("the entry is gone after deleting one of two screenshots")?;
        ensure!(
            after.duration_secs == full - removed && after.deducted_secs == removed,
            "the entry lasts {} s with {} s removed; expected {} s and {removed} s",
            after.duration_secs,
            after.deducted_secs,
            full - removed
        );
        let gone = ana.screenshot(later.0).await;
        ensure!(
            matches!(&gone, Err(e) if e.code() == Some(ErrorCode::NotFound)),
            "the deleted screenshot is still at the service: {gone:?}"
        );
        app.open_section("timer").await?;
        app.wait_attr(
            &duration,
            "data-seconds",
            &(full - removed).to_string(),
            MEDIUM,
        )
        .await?;
        app.wait_attr(&removed_css, "data-seconds", &removed.to_string(), SHORT)
            .await?;

        // Its last screenshot: deleting it deletes the whole entry.
        show_screenshots_of(&app, &team.ana).await?;
        let dialog = ask_to_delete(&app, earlier.0).await?;
        app.wait_attr(&dialog, "data-allowed", "true", SHORT)
            .await?;
        app.wait_attr(&dialog, "data-decision", "delete_entry", SHORT)
            .await?;
        app.click(&tid("confirm-ok")).await?;
        app.wait_gone(&dialog, MEDIUM).await?;
        wait_for(MEDIUM, "the service to delete the entry", || async {
            entry(&ana, rec.entry, None)
                .await
                .ok()?
                .is_none()
                .then_some(())
        })
        .await?;
        app.open_section("timer").await?;
        app.wait_gone(&row, MEDIUM).await?;
        Ok(())
    }
    .await;
    app.finish("member-deletes", outcome).await
}

// ---- 3 -------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn deleting_a_screenshot_of_the_running_timer_is_refused() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("running", true).await?;
    let ana = service.sign_in(&team.ana).await?;
    let app = DesktopApp::signed_in(&service, &team.ana).await?;

    let outcome = async {
        app.open_section("timer").await?;
        // Enter in the description starts the timer.
        app.type_into(&tid("timer-description"), "Still going")
            .await?;
        app.press(Key::Enter).await?;
        app.wait_attr(&tid("timer-toggle"), "data-running", "true", MEDIUM)
            .await?;
        // Focus leaves the now read-only field for Stop: a focused field's caret would repaint
        // the window all day.
        wait_for(SHORT, "focus to move to the Stop button", || async {
            let focused = app
                .client
                .execute(
                    "return document.activeElement && document.activeElement.dataset.testid",
                    vec![],
                )
                .await
                .ok()?;
            (focused == "timer-toggle").then_some(())
        })
        .await?;
        let shot = wait_for(
            LONG,
            "a screenshot of the running timer at the service",
            || async {
                let running = ana.timer().await.ok()?.running?;
                let shots = screenshots_today(&ana, &team.ana).await.ok()?;
                shots.into_iter().find(|s| s.entry_id == running.id)
            },
        )
        .await?;

        show_screenshots_of(&app, &team.ana).await?;
        let dialog = ask_to_delete(&app, shot.id).await?;
        app.wait_attr(&dialog, "data-allowed", "false", SHORT)
            .await?;
        let effect = app.text(&tid("confirm-effect")).await.unwrap_or_default();
        ensure!(
            effect.to_lowercase().contains("stop the timer first"),
            "the refusal says {effect:?}"
        );
        ensure!(
            app.find(&tid("confirm-ok")).await.is_none(),
            "a refused delete offers to confirm"
        );
        save_window_png(&app.client, "delete-refused").await?;
        app.click(&tid("confirm-cancel")).await?;
        app.wait_gone(&dialog, SHORT).await?;
        ensure!(
            ana.screenshot(shot.id).await.is_ok(),
            "the screenshot of the running entry was deleted"
        );

        app.open_section("timer").await?;
        app.click(&tid("timer-toggle")).await?;
        app.wait_attr(&tid("timer-toggle"), "data-running", "false", MEDIUM)
            .await?;
        Ok(())
    }
    .await;
    app.finish("delete-refused", outcome).await
}

// ---- 4 -------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn admin_deletes_a_members_screenshot_and_the_time_stays() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("review", true).await?;
    let (ana, ben) = (
        service.sign_in(&team.ana).await?,
        service.sign_in(&team.ben).await?,
    );
    let a = record_entry(&ana, "Design review", 100, &[20, 60]).await?;
    let b = record_entry(&ben, "Bug triage", 80, &[40]).await?;
    let ana_entry = entry(&ana, a.entry, None).await?.context("ana's entry")?;
    let app = DesktopApp::signed_in(&service, &team.owner).await?;

    let outcome = async {
        // Everyone in the workspace, each with their count of the day (R16, R17).
        app.open_section("screenshots").await?;
        let count = |p: &service::Person| format!("{} {}", member_row(p), tid("member-count"));
        app.wait_attr(
            &count(&team.ana),
            "data-count",
            &a.shots.len().to_string(),
            MEDIUM,
        )
        .await?;
        app.wait_attr(
            &count(&team.ben),
            "data-count",
            &b.shots.len().to_string(),
            MEDIUM,
        )
        .await?;
        app.wait_attr(&member_row(&team.ana), "data-email", &team.ana.email, SHORT)
            .await?;
        app.wait_attr(&member_row(&team.ben), "data-email", &team.ben.email, SHORT)
            .await?;
        save_window_png(&app.client, "admin-screenshots").await?;

        // The admin deletes ana's later screenshot: an admin's delete removes no time (R22).
        app.click(&format!(
            "{} {}",
            member_row(&team.ana),
            tid("member-toggle")
        ))
        .await?;
        let (gone, kept) = (a.shots[1].0, a.shots[0].0);
        let dialog = ask_to_delete(&app, gone).await?;
        app.wait_attr(&dialog, "data-allowed", "true", SHORT)
            .await?;
        app.wait_attr(&dialog, "data-removed-secs", "0", SHORT)
            .await?;
        app.wait_attr(&dialog, "data-decision", "delete_screenshot", SHORT)
            .await?;
        app.click(&tid("confirm-ok")).await?;
        app.wait_gone(&dialog, MEDIUM).await?;
        app.wait_gone(&thumb(gone), MEDIUM).await?;
        app.wait_attr(&count(&team.ana), "data-count", "1", MEDIUM)
            .await?;
        app.wait_attr(&count(&team.ben), "data-count", "1", SHORT)
            .await?;

        // At the service: the screenshot is gone, ana's entry is exactly as it was.
        let left: Vec<_> = screenshots_today(&ana, &team.ana)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        ensure!(left == vec![kept], "ana's screenshots now: {left:?}");
        let after = entry(&ana, a.entry, None)
            .await?
            .context("ana's entry is gone")?;
        ensure!(
            after.duration_secs == ana_entry.duration_secs && after.deducted_secs == 0,
            "ana's entry went from {} s to {} s ({} s removed)",
            ana_entry.duration_secs,
            after.duration_secs,
            after.deducted_secs
        );
        Ok(())
    }
    .await;
    app.finish("admin-deletes", outcome).await
}

// ---- 5 -------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn member_cannot_see_another_member() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("privacy", true).await?;
    let (ana, ben) = (
        service.sign_in(&team.ana).await?,
        service.sign_in(&team.ben).await?,
    );
    let own = record_entry(&ana, "Own work", 60, &[30]).await?.shots[0].0;
    let other = record_entry(&ben, "Private work", 60, &[30]).await?.shots[0].0;
    let app = DesktopApp::signed_in(&service, &team.ana).await?;

    let outcome = async {
        // Listed: only herself (R17).
        let row = show_screenshots_of(&app, &team.ana).await?;
        app.wait_attr(
            &format!("{row} {}", tid("member-count")),
            "data-count",
            "1",
            MEDIUM,
        )
        .await?;
        let mut listed = Vec::new();
        for el in app.find_all(&tid("member-row")).await {
            listed.push(el.attr("data-email").await?.unwrap_or_default());
        }
        ensure!(
            listed == vec![team.ana.email.clone()],
            "a member is shown {listed:?}"
        );

        // Her own image is served; the other member's answers 404, exactly like a missing one.
        let src = app
            .wait_element(&format!("{} img", thumb(own)), MEDIUM)
            .await?
            .attr("src")
            .await?
            .context("the thumbnail has no image")?;
        ensure!(src.contains(&own.to_string()), "image URL {src}");
        ensure!(app.fetch_status(&src).await? == 200, "own image {src}");
        let theirs = src.replace(&own.to_string(), &other.to_string());
        let missing = src.replace(
            &own.to_string(),
            &shotclock_api::ScreenshotId::new().to_string(),
        );
        let (theirs_status, missing_status) = (
            app.fetch_status(&theirs).await?,
            app.fetch_status(&missing).await?,
        );
        ensure!(
            theirs_status == 404 && missing_status == 404,
            "another member's image answered {theirs_status}, a missing one {missing_status}"
        );
        save_window_png(&app.client, "member-screenshots").await?;
        Ok(())
    }
    .await;
    app.finish("member-privacy", outcome).await
}

// ---- 6 -------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn member_is_told_when_an_admin_turns_capture_on() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("notice", false).await?;
    let (admin, ana) = (
        service.sign_in(&team.owner).await?,
        service.sign_in(&team.ana).await?,
    );
    // Before the app, so the app's notifications reach it.
    let dunst = Dunst::start().await?;
    let app = DesktopApp::signed_in(&service, &team.ana).await?;

    let outcome = async {
        app.wait_attr(&tid("capture-indicator"), "data-state", "off", MEDIUM)
            .await?;
        ensure!(
            app.find(&tid("banner")).await.is_none(),
            "a banner shows before capture was turned on"
        );

        let turned_on = now_secs();
        set_screenshots(&admin, true).await?;
        // The persisted notification (R6): what the member is told.
        let notes = ana.notifications().await?.notifications;
        let note = notes
            .iter()
            .find(|n| !n.read && n.created_at >= turned_on - chrono::TimeDelta::seconds(1))
            .with_context(|| format!("no new notification for the member: {notes:?}"))?;

        let banner = wait_for(MEDIUM, "the banner with the notification", || async {
            let text = app.text(&tid("banner")).await?;
            text.contains(&note.message).then_some(text)
        })
        .await?;
        ensure!(banner.contains(&note.message), "banner {banner:?}");
        save_window_png(&app.client, "banner").await?;

        // The OS notification, as the notification daemon recorded it.
        if let Some(dunst) = &dunst {
            dunst.wait_for_body(&note.message, MEDIUM).await?;
        }

        // Dismissed: gone from the window, read at the service.
        app.click(&tid("banner-dismiss")).await?;
        app.wait_gone(&tid("banner"), SHORT).await?;
        wait_for(
            MEDIUM,
            "the notification to be read at the service",
            || async {
                let list = ana.notifications().await.ok()?.notifications;
                list.iter().any(|n| n.id == note.id && n.read).then_some(())
            },
        )
        .await?;
        Ok(())
    }
    .await;
    let result = app.finish("capture-notice", outcome).await;
    drop(dunst);
    result
}

// ---- 7 -------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display, tauri-driver and a Secret Service; run by `cargo xtask test`"]
async fn the_session_lives_in_the_keyring_and_survives_a_restart() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("session", true).await?;
    let token_file = "session-token";

    // Signed in: the token went to the OS keyring (R3), not to a file, and the app says nothing
    // about a fallback.
    let app = DesktopApp::signed_in(&service, &team.ana).await?;
    let outcome = async {
        ensure!(
            !app.data_dir().join(token_file).exists(),
            "the token went to a file: no Secret Service answered in this D-Bus session \
             (`cargo xtask test` starts an unlocked gnome-keyring for the system tests)"
        );
        ensure!(
            app.find(&tid("token-storage-note")).await.is_none(),
            "the app says the session is kept in a file"
        );
        Ok(())
    }
    .await;
    if outcome.is_err() {
        return app.finish("session-keyring", outcome).await;
    }

    // Restarted with nothing in its environment: the stored session signs it in again.
    let app = app.restart().await?;
    let outcome = async {
        app.wait_signed_in(&team.ana).await?;
        // Signing out forgets the session here.
        app.click(&tid("sign-out")).await?;
        app.wait_element(&tid("sign-in"), MEDIUM).await?;
        Ok(())
    }
    .await;
    if outcome.is_err() {
        return app.finish("session-restart", outcome).await;
    }

    // Restarted after the sign-out: the sign-in form, with the address and email filled in.
    let app = app.restart().await?;
    let outcome = async {
        let form = tid("sign-in");
        app.wait_element(&form, MEDIUM).await?;
        let email = app
            .wait_element(&format!("{form} input[name=email]"), SHORT)
            .await?
            .prop("value")
            .await?;
        ensure!(
            email.as_deref() == Some(team.ana.email.as_str()),
            "the email field holds {email:?}"
        );
        ensure!(
            !app.data_dir().join(token_file).exists(),
            "a token file appeared"
        );
        Ok(())
    }
    .await;
    app.finish("session-signed-out", outcome).await
}

// ---- 8 -------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn the_app_starts_offline_and_catches_up() -> Result<()> {
    let mut service = Service::start()?;
    let team = service.team("offline", true).await?;
    let app = DesktopApp::signed_in(&service, &team.ana).await?;

    // The service goes away, and the app starts again without it.
    service.stop();
    let app = app.restart().await?;
    let description = "On the train";
    let outcome = async {
        // Signed in from what it kept, and the timer works offline (R25).
        app.wait_signed_in(&team.ana).await?;
        app.open_section("timer").await?;
        app.type_into(&tid("timer-description"), description)
            .await?;
        app.click(&tid("timer-toggle")).await?;
        app.wait_attr(&tid("timer-toggle"), "data-running", "true", MEDIUM)
            .await?;
        app.click(&tid("timer-toggle")).await?;
        app.wait_attr(&tid("timer-toggle"), "data-running", "false", MEDIUM)
            .await?;

        // Back online: the entry made offline reaches the service, start and stop.
        service.restart();
        let ana = service.sign_in(&team.ana).await?;
        wait_for(
            std::time::Duration::from_secs(180),
            "the offline entry at the service",
            || async {
                let entries = ana.entries(None, None, None).await.ok()?.entries;
                entries
                    .into_iter()
                    .find(|e| e.description == description && e.end.is_some())
            },
        )
        .await?;
        Ok(())
    }
    .await;
    app.finish("offline", outcome).await
}

// ---- 9 -------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn a_screenshot_taken_offline_is_listed_waiting_and_deleted_before_it_is_sent() -> Result<()>
{
    let mut service = Service::start()?;
    let team = service.team("unsent", true).await?;
    let ana = service.sign_in(&team.ana).await?;
    let app = DesktopApp::signed_in(&service, &team.ana).await?;
    let waiting_thumb = format!("{}[data-waiting='true']", tid("thumb"));

    let outcome = async {
        app.open_section("timer").await?;
        app.type_into(&tid("timer-description"), "Offline review")
            .await?;
        app.click(&tid("timer-toggle")).await?;
        app.wait_attr(&tid("timer-toggle"), "data-running", "true", MEDIUM)
            .await?;
        // A first screenshot reaches the service: the one the offline ones follow.
        let entry_id = wait_for(LONG, "a first screenshot at the service", || async {
            let running = ana.timer().await.ok()?.running?;
            let shots = screenshots_today(&ana, &team.ana).await.ok()?;
            shots
                .iter()
                .any(|s| s.entry_id == running.id)
                .then_some(running.id)
        })
        .await?;
        let before: std::collections::BTreeSet<_> = screenshots_today(&ana, &team.ana)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();

        // The service goes away; the screenshots taken meanwhile show at once, marked.
        service.stop();
        show_screenshots_of(&app, &team.ana).await?;
        wait_for(LONG, "two screenshots waiting to sync", || async {
            (app.find_all(&waiting_thumb).await.len() >= 2).then_some(())
        })
        .await?;
        let mark = app
            .text(&format!("{waiting_thumb} {}", tid("thumb-waiting")))
            .await
            .unwrap_or_default();
        ensure!(
            mark.contains("waiting to sync"),
            "an unsent screenshot is marked {mark:?}"
        );
        // Stopped offline: a running entry's screenshot cannot be deleted (R20).
        app.open_section("timer").await?;
        app.click(&tid("timer-toggle")).await?;
        app.wait_attr(&tid("timer-toggle"), "data-running", "false", MEDIUM)
            .await?;

        // The latest one, deleted where it is listed: the dry run answered here, offline.
        let row = show_screenshots_of(&app, &team.ana).await?;
        app.wait_element(&format!("{row} {waiting_thumb}"), MEDIUM)
            .await?;
        let mut waiting = Vec::new();
        for el in app.find_all(&format!("{row} {waiting_thumb}")).await {
            let id = el.attr("data-screenshot-id").await?;
            waiting.push(id.context("a thumbnail without its id")?);
        }
        // The latest one whose gap to the screenshot before it is a whole second or more: a
        // random moment in each short test window can fall under a second after the previous
        // one, and the dialog counts whole seconds. Every dialog must allow the delete.
        let mut chosen = None;
        for id in waiting.iter().rev() {
            let dialog = ask_to_delete(&app, id).await?;
            app.wait_attr(&dialog, "data-allowed", "true", SHORT)
                .await?;
            app.wait_attr(&dialog, "data-decision", "delete_screenshot", SHORT)
                .await?;
            let removed = app.int_attr(&dialog, "data-removed-secs").await?;
            ensure!(removed >= 0, "the dialog removes {removed} s");
            if removed > 0 {
                chosen = Some((id.clone(), dialog, removed));
                break;
            }
            app.click(&tid("confirm-cancel")).await?;
            app.wait_gone(&dialog, MEDIUM).await?;
        }
        let (victim, dialog, removed) = chosen.context(
            "a member's delete after an earlier screenshot removes time (R21): every dialog said 0 s",
        )?;
        let effect = app.text(&tid("confirm-effect")).await.unwrap_or_default();
        ensure!(
            effect.contains(&format!("{removed} s")) && effect.contains("Offline review"),
            "the dialog says {effect:?}"
        );
        save_window_png(&app.client, "delete-unsent").await?;
        app.click(&tid("confirm-ok")).await?;
        app.wait_gone(&dialog, MEDIUM).await?;
        app.wait_gone(&thumb(&victim), MEDIUM).await?;

        // Back online: the rest arrives, the deleted one never does, and the entry loses
        // exactly the time the dry run said.
        service.restart();
        let ana = service.sign_in(&team.ana).await?;
        let at_service = wait_for(
            std::time::Duration::from_secs(180),
            "the stop and the delete at the service",
            || async {
                let e = entry(&ana, entry_id, None).await.ok()??;
                (e.end.is_some() && e.deducted_secs != 0).then_some(e)
            },
        )
        .await?;
        ensure!(
            at_service.deducted_secs == removed,
            "the service removed {} s; the dry run said {removed} s",
            at_service.deducted_secs
        );
        let end = at_service.end.context("the entry stopped")?;
        let expected = (end - at_service.start).num_seconds() - removed;
        // Whole seconds of millisecond spans: the two sides may round one second apart.
        ensure!(
            (at_service.duration_secs - expected).abs() <= 1,
            "the entry lasts {} s at the service, {expected} s by the dry run",
            at_service.duration_secs
        );
        let served = wait_for(MEDIUM, "every other waiting screenshot", || async {
            let served = screenshots_today(&ana, &team.ana).await.ok()?;
            waiting
                .iter()
                .filter(|id| **id != victim)
                .all(|id| served.iter().any(|s| s.id.to_string() == *id))
                .then_some(served)
        })
        .await?;
        ensure!(
            served.iter().all(|s| s.id.to_string() != victim),
            "the deleted screenshot is at the service"
        );
        let gone = ana.screenshot(victim.parse()?).await;
        ensure!(
            matches!(&gone, Err(e) if e.code() == Some(ErrorCode::NotFound)),
            "the service answers {gone:?} for the deleted screenshot"
        );
        // Never sent: every upload since the restart is one the service still holds, and the
        // tombstone went once.
        let arrived = served.iter().filter(|s| !before.contains(&s.id)).count() as u64;
        let uploads = service.successes("PUT", "/api/v1/screenshots/{id}");
        ensure!(
            uploads == arrived,
            "{uploads} uploads since the restart, {arrived} screenshots arrived: the deleted one was sent"
        );
        let deletes = service.successes("DELETE", "/api/v1/screenshots/{id}");
        ensure!(deletes == 1, "{deletes} deletes applied, not one");
        app.open_section("timer").await?;
        app.wait_attr(
            &format!("{} {}", entry_row(entry_id), tid("entry-removed")),
            "data-seconds",
            &removed.to_string(),
            MEDIUM,
        )
        .await?;
        Ok(())
    }
    .await;
    app.finish("delete-unsent", outcome).await
}

// ---- 10 ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn a_member_sees_who_viewed_their_screenshot() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("looks", true).await?;
    let (ana, olga) = (
        service.sign_in(&team.ana).await?,
        service.sign_in(&team.owner).await?,
    );
    let rec = record_entry(&ana, "Quarterly report", 90, &[20, 60]).await?;
    let (seen, unseen) = (rec.shots[1].0, rec.shots[0].0);
    let app = DesktopApp::signed_in(&service, &team.ana).await?;

    let outcome = async {
        // Ana browses her own screenshots, gallery included: nothing is logged (R35).
        show_screenshots_of(&app, &team.ana).await?;
        app.wait_element(&format!("{} img", thumb(seen)), MEDIUM)
            .await?;
        app.click(&format!("{} {}", thumb(unseen), tid("thumb-time")))
            .await?;
        app.wait_attr(
            &tid("gallery"),
            "data-screenshot-id",
            &unseen.to_string(),
            SHORT,
        )
        .await?;
        app.press(Key::Escape).await?;
        app.wait_gone(&tid("gallery"), SHORT).await?;
        app.wait_element(&tid("access-log-empty"), MEDIUM).await?;
        ensure!(
            ana.access_log().await?.entries.is_empty(),
            "her own views were logged"
        );

        // Olga, an admin, opens ana's screenshot's image at the service.
        olga.screenshot_image(seen).await?;
        let log = ana.access_log().await?.entries;
        ensure!(log.len() == 1, "the service logged {log:?}");
        let at = service::time_zone()
            .local(log[0].at)
            .format("%H:%M")
            .to_string();
        let want = format!("viewed by {}, today {at}", team.owner.name);

        // Ana's open page shows it on that screenshot, and in the 7-day list.
        let on_thumb = format!("{} {}", thumb(seen), tid("thumb-viewed-by"));
        let shown = wait_for(LONG, "viewed by on the thumbnail", || async {
            app.text(&on_thumb)
                .await
                .filter(|t| t.contains("viewed by"))
        })
        .await?;
        ensure!(
            shown.trim() == want,
            "the thumbnail says {shown:?}, want {want:?}"
        );
        ensure!(
            app.find(&format!("{} {}", thumb(unseen), tid("thumb-viewed-by")))
                .await
                .is_none(),
            "the screenshot nobody else opened says it was viewed"
        );
        let line = app.wait_element(&tid("access-log-line"), MEDIUM).await?;
        ensure!(
            line.attr("data-screenshot-id").await?.as_deref() == Some(seen.to_string().as_str())
                && line.attr("data-viewer").await?.as_deref() == Some(team.owner.name.as_str()),
            "the list's line names another screenshot or viewer"
        );
        save_window_png(&app.client, "viewed-by").await?;
        Ok(())
    }
    .await;
    app.finish("viewed-by", outcome).await
}

// ---- 11–15: managing entries (R39) ----------------------------------------------------------------

/// Opens the editor of entry `id` in the Timer view's week.
async fn edit(app: &DesktopApp, id: impl std::fmt::Display) -> Result<()> {
    app.open_section("timer").await?;
    app.click(&format!("{} {}", entry_row(&id), tid("entry-edit")))
        .await?;
    app.wait_element(&tid("entry-editor"), SHORT).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn member_edits_a_description_and_adds_time_by_hand() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("edits", false).await?;
    let ana = service.sign_in(&team.ana).await?;
    // A switch of timers, as the app makes one: the first entry stops and the second starts at
    // one instant, to the millisecond. Renaming the second keeps its times to the millisecond:
    // its start moved back to the second shown would overlap the first, and be refused.
    let min = chrono::TimeDelta::minutes;
    let switch = now_secs() - min(10) + chrono::TimeDelta::milliseconds(700);
    let end = switch + min(2) + chrono::TimeDelta::milliseconds(250);
    let typo = shotclock_api::EntryId::new();
    ana.start_timer(
        shotclock_api::EntryId::new(),
        "Planning",
        Some(switch - min(5)),
    )
    .await?;
    ana.start_timer(typo, "Typo in the descripton", Some(switch))
        .await?;
    ana.stop_timer(Some(typo), Some(end)).await?;
    let zone = service::time_zone();
    // An hour of work forgotten earlier today (the test's day never straddles midnight).
    let (from, to) = (now_secs() - min(50), now_secs() - min(20));

    let app = DesktopApp::signed_in(&service, &team.ana).await?;
    let outcome = async {
        let row = entry_row(typo);
        edit(&app, typo).await?;
        app.type_into(&tid("edit-description"), "Quarterly report")
            .await?;
        app.click(&tid("edit-save")).await?;
        app.wait_gone(&tid("entry-editor"), MEDIUM).await?;
        wait_for(MEDIUM, "the new description in the week", || async {
            let text = app
                .text(&format!("{row} {}", tid("entry-description")))
                .await?;
            (text == "Quarterly report").then_some(())
        })
        .await?;
        let renamed = wait_for(MEDIUM, "the new description at the service", || async {
            let e = entry(&ana, typo, None).await.ok()??;
            (e.description == "Quarterly report").then_some(e)
        })
        .await?;
        ensure!(
            (renamed.start, renamed.end) == (switch, Some(end)),
            "the rename moved the entry: {renamed:?}"
        );

        // "Add time": a manual entry, marked manual in the list and at the service.
        app.click(&tid("add-time")).await?;
        let form = tid("add-time-form");
        app.type_into(&format!("{form} {}", tid("edit-description")), "Phone call")
            .await?;
        app.type_into(&format!("{form} {}", tid("edit-start")), &zone.clock(from))
            .await?;
        app.type_into(&format!("{form} {}", tid("edit-end")), &zone.clock(to))
            .await?;
        app.click(&format!("{form} {}", tid("edit-save"))).await?;
        app.wait_gone(&form, MEDIUM).await?;
        let added = wait_for(MEDIUM, "the manual entry at the service", || async {
            let list = ana.entries(None, None, None).await.ok()?.entries;
            list.into_iter().find(|e| e.description == "Phone call")
        })
        .await?;
        ensure!(
            added.manual && added.start == from && added.end == Some(to),
            "the service holds {added:?}"
        );
        app.wait_element(
            &format!("{} {}", entry_row(added.id), tid("entry-manual")),
            MEDIUM,
        )
        .await?;
        save_window_png(&app.client, "week-view").await?;
        Ok(())
    }
    .await;
    app.finish("edits", outcome).await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn shortening_an_entry_deletes_the_screenshot_left_outside_after_confirming() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("shorten", true).await?;
    let ana = service.sign_in(&team.ana).await?;
    let rec = record_entry(&ana, "Design review", 120, &[30, 75]).await?;
    let (kept, dropped) = (rec.shots[0], rec.shots[1]);
    let new_end = rec.start + chrono::TimeDelta::seconds(50);
    let zone = service::time_zone();

    let app = DesktopApp::signed_in(&service, &team.ana).await?;
    let outcome = async {
        edit(&app, rec.entry).await?;
        app.type_into(&tid("edit-end"), &zone.clock(new_end))
            .await?;
        save_window_png(&app.client, "entry-editor").await?;
        app.click(&tid("edit-save")).await?;
        // The dry run names what goes: one screenshot, and the time the entry then counts.
        let dialog = tid("confirm-delete");
        app.wait_element(&dialog, MEDIUM).await?;
        let effect = app.text(&tid("confirm-effect")).await.unwrap_or_default();
        ensure!(
            effect.contains("1 screenshot") && effect.contains("50 s"),
            "the confirmation says {effect:?}"
        );
        save_window_png(&app.client, "entry-edit-confirmation").await?;
        app.click(&tid("confirm-ok")).await?;
        app.wait_gone(&dialog, MEDIUM).await?;

        let duration = format!("{} {}", entry_row(rec.entry), tid("entry-duration"));
        app.wait_attr(&duration, "data-seconds", "50", MEDIUM)
            .await?;
        let after = entry(&ana, rec.entry, None)
            .await?
            .context("the entry is gone")?;
        ensure!(
            after.end == Some(new_end) && after.duration_secs == 50,
            "the service holds {after:?}"
        );
        let gone = ana.screenshot(dropped.0).await;
        ensure!(
            matches!(&gone, Err(e) if e.code() == Some(ErrorCode::NotFound)),
            "the screenshot outside the entry is still at the service: {gone:?}"
        );
        ensure!(
            ana.screenshot(kept.0).await.is_ok(),
            "the one inside went too"
        );
        Ok(())
    }
    .await;
    app.finish("shorten", outcome).await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn deleting_an_entry_deletes_its_screenshots() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("delete-entry", true).await?;
    let ana = service.sign_in(&team.ana).await?;
    let rec = record_entry(&ana, "Wrong project", 60, &[20, 40]).await?;

    let app = DesktopApp::signed_in(&service, &team.ana).await?;
    let outcome = async {
        show_screenshots_of(&app, &team.ana).await?;
        for (id, _) in &rec.shots {
            app.wait_element(&thumb(id), MEDIUM).await?;
        }
        app.open_section("timer").await?;
        app.click(&format!("{} {}", entry_row(rec.entry), tid("entry-delete")))
            .await?;
        let dialog = tid("confirm-delete");
        app.wait_attr(&dialog, "data-allowed", "true", MEDIUM)
            .await?;
        let effect = app.text(&tid("confirm-effect")).await.unwrap_or_default();
        let warning = app.text(&tid("confirm-warning")).await.unwrap_or_default();
        ensure!(
            effect.contains("2 screenshots") && warning.to_lowercase().contains("permanent"),
            "the confirmation says {effect:?} / {warning:?}"
        );
        app.click(&tid("confirm-ok")).await?;
        app.wait_gone(&entry_row(rec.entry), MEDIUM).await?;
        wait_for(MEDIUM, "the service to delete the entry", || async {
            entry(&ana, rec.entry, None)
                .await
                .ok()?
                .is_none()
                .then_some(())
        })
        .await?;
        show_screenshots_of(&app, &team.ana).await?;
        app.wait_attr(
            &format!("{} {}", member_row(&team.ana), tid("member-count")),
            "data-count",
            "0",
            MEDIUM,
        )
        .await?;
        for (id, _) in &rec.shots {
            app.wait_gone(&thumb(id), MEDIUM).await?;
        }
        Ok(())
    }
    .await;
    app.finish("delete-entry", outcome).await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn a_member_cannot_edit_an_approved_entry() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("approved", false).await?;
    let ana = service.sign_in(&team.ana).await?;
    let olga = service.sign_in(&team.owner).await?;
    let rec = record_entry(&ana, "Signed off", 60, &[]).await?;
    olga.approve_period(&shotclock_api::dto::ApprovePeriod {
        user_id: team.ana.id,
        date: today(),
        time_zone: service::time_zone().name.into(),
        period: shotclock_api::dto::Period::Week,
        approved: true,
    })
    .await?;

    let app = DesktopApp::signed_in(&service, &team.ana).await?;
    let outcome = async {
        edit(&app, rec.entry).await?;
        let why = app.text(&tid("edit-error")).await.unwrap_or_default();
        ensure!(
            why.contains("approved") && why.contains("admin"),
            "the editor says {why:?}"
        );
        let save = app.wait_element(&tid("edit-save"), SHORT).await?;
        ensure!(
            save.attr("disabled").await?.is_some(),
            "saving an approved entry is offered"
        );
        Ok(())
    }
    .await;
    app.finish("approved", outcome).await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn an_admin_approves_a_members_week() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("approvals", true).await?;
    let ana = service.sign_in(&team.ana).await?;
    let rec = record_entry(&ana, "Sprint work", 60, &[20, 40]).await?;

    let app = DesktopApp::signed_in(&service, &team.owner).await?;
    let outcome = async {
        app.open_section("approvals").await?;
        let member = format!("{}[data-user-id='{}']", tid("approval-member"), team.ana.id);
        let line = format!(
            "{member} {}[data-entry-id='{}']",
            tid("approval-entry"),
            rec.entry
        );
        app.wait_attr(
            &format!("{line} {}", tid("approval-shots")),
            "data-count",
            "2",
            MEDIUM,
        )
        .await?;
        save_window_png(&app.client, "approvals").await?;
        app.click(&format!("{member} {}", tid("approve-week")))
            .await?;
        app.wait_attr(&member, "data-approved", "true", MEDIUM)
            .await?;
        app.wait_attr(&line, "data-approved", "true", SHORT).await?;
        let after = entry(&ana, rec.entry, None)
            .await?
            .context("the entry is gone")?;
        ensure!(after.approved, "the service holds {after:?}");
        // Activity › Screenshots marks the entry approved beside its screenshots, saying why.
        let row = show_screenshots_of(&app, &team.ana).await?;
        let mark = format!(
            "{row} {} {}",
            thumb(rec.shots[0].0),
            tid("thumb-entry-approved")
        );
        app.wait_element(&mark, MEDIUM).await?;
        let title = app.attr(&mark, "title").await.unwrap_or_default();
        ensure!(
            title.contains("members can't delete its screenshots"),
            "the approved mark says {title:?}"
        );
        Ok(())
    }
    .await;
    app.finish("approvals", outcome).await
}

// ---- 11 ------------------------------------------------------------------------------------------

/// `[data-testid=member]` of the member with `email`.
fn member_item(email: &str) -> String {
    format!("{}[data-email='{email}']", tid("member"))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn an_admin_manages_members_in_the_desktop_app() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("people", false).await?;
    let owner = service.sign_in(&team.owner).await?;
    let app = DesktopApp::signed_in(&service, &team.owner).await?;

    let outcome = async {
        app.open_section("members").await?;
        // Everyone is listed, with presence for the admin (no recording app connected yet).
        for who in [&team.owner, &team.ana, &team.ben] {
            app.wait_element(&member_item(&who.email), MEDIUM).await?;
        }
        app.wait_attr(
            &member_item(&team.ana.email),
            "data-connected",
            "false",
            SHORT,
        )
        .await?;

        // Invite by email: the one-time link is shown, on the service's address.
        app.type_into(&tid("invite-email"), "cara@people.test")
            .await?;
        app.click(&tid("invite-submit")).await?;
        let link = wait_for(MEDIUM, "the invitation link", || async {
            let el = app.find(&tid("invite-link")).await?;
            let value = el.prop("value").await.ok()??;
            let shown = app.text(&tid("invite-link-box")).await?;
            shown.contains("cara@people.test").then_some(value)
        })
        .await?;
        ensure!(
            link.starts_with(&format!("{}/invite/#", service.url())),
            "the link: {link}"
        );

        // The pending invitation is listed, and the service holds it.
        let pending = format!("{}[data-email='cara@people.test']", tid("invitation"));
        app.wait_attr(&pending, "data-status", "invited", MEDIUM)
            .await?;
        let held = owner.invitations().await?.invitations;
        ensure!(
            held.iter().any(|i| i.email == "cara@people.test"),
            "the service holds {held:?}"
        );
        save_window_png(&app.client, "members-desktop").await?;

        // Withdrawn: gone from the list and from the service.
        app.click(&format!("{pending} {}", tid("revoke"))).await?;
        app.wait_gone(&pending, MEDIUM).await?;
        let held = owner.invitations().await?.invitations;
        ensure!(held.is_empty(), "still open at the service: {held:?}");

        // Ben becomes an admin.
        let ben = member_item(&team.ben.email);
        app.wait_element(&format!("{ben} {}", tid("role-select")), SHORT)
            .await?
            .select_by_value("admin")
            .await?;
        app.wait_attr(&ben, "data-role", "admin", MEDIUM).await?;
        let members = owner.members().await?.members;
        let role = members.iter().find(|m| m.id == team.ben.id).map(|m| m.role);
        ensure!(
            role == Some(shotclock_api::Role::Admin),
            "the service holds ben as {role:?}"
        );
        // The owner's row has no controls.
        let owner_row = member_item(&team.owner.email);
        for control in ["role-select", "deactivate", "remove"] {
            ensure!(
                app.find(&format!("{owner_row} {}", tid(control)))
                    .await
                    .is_none(),
                "the owner's row has {control}"
            );
        }
        Ok(())
    }
    .await;
    app.finish("members-admin", outcome).await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn a_member_reads_the_member_list_without_controls() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("readers", false).await?;
    let app = DesktopApp::signed_in(&service, &team.ana).await?;

    let outcome = async {
        app.open_section("members").await?;
        for who in [&team.owner, &team.ana, &team.ben] {
            app.wait_element(&member_item(&who.email), MEDIUM).await?;
        }
        app.wait_element(&tid("members-read-only"), SHORT).await?;
        for control in [
            "invite-form",
            "role-select",
            "deactivate",
            "reactivate",
            "remove",
            "revoke",
            "presence-dot",
        ] {
            ensure!(
                app.find(&tid(control)).await.is_none(),
                "a member is shown {control}"
            );
        }
        let connected = app
            .attr(&member_item(&team.ben.email), "data-connected")
            .await;
        ensure!(
            connected.is_none(),
            "a member is shown presence: {connected:?}"
        );
        save_window_png(&app.client, "members-read-only").await?;
        Ok(())
    }
    .await;
    app.finish("members-member", outcome).await
}

/// Clicks Save in the single sign-on section and waits until the service answered (the section
/// says "Checking the provider…" until then); the outcome's kind and words.
async fn save_sso(app: &DesktopApp) -> Result<(String, String)> {
    app.click(&tid("sso-save")).await?;
    wait_for(MEDIUM, "the provider checked", || async {
        let kind = app.attr(&tid("sso-outcome"), "data-kind").await?;
        (kind != "checking").then_some((kind, app.text(&tid("sso-outcome")).await?))
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display, tauri-driver and node; run by `cargo xtask test`"]
async fn an_admin_links_the_identity_provider_in_the_desktop_app() -> Result<()> {
    const SECRET: &str = service::SSO_SECRET;
    let service = Service::start()?;
    let team = service.team("linked", false).await?;
    let callback = service.sso_callback();
    let idp = service.identity_provider(&team);
    let owner = service.sign_in(&team.owner).await?;
    let domain = team.domain()?;
    let app = DesktopApp::signed_in(&service, &team.owner).await?;

    let outcome = async {
        app.open_section("settings").await?;
        app.wait_attr(&tid("sso-summary"), "data-enabled", "false", MEDIUM)
            .await?;
        let shown = app
            .wait_element(&tid("sso-callback"), SHORT)
            .await?
            .prop("value")
            .await?;
        ensure!(
            shown.as_deref() == Some(callback.as_str()),
            "callback shown: {shown:?}"
        );

        // A provider that cannot be read: plain words from the service, nothing stored.
        let nobody = format!(
            "http://{}",
            std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?
        );
        app.type_into(&tid("sso-issuer"), &nobody).await?;
        app.type_into(&tid("sso-client-id"), "shotclock").await?;
        app.type_into(&tid("sso-client-secret"), SECRET).await?;
        app.type_into(&tid("sso-domains"), &domain).await?;
        let (kind, words) = save_sso(&app).await?;
        ensure!(
            kind == "problem" && words.contains("could not be read"),
            "{kind}: {words}"
        );
        ensure!(!owner.sso_settings().await?.enabled, "nothing stored");

        // The real provider: checked and stored, the secret kept write-only.
        app.type_into(&tid("sso-issuer"), &idp.issuer()).await?;
        app.click(&tid("sso-auto-join")).await?;
        let (kind, words) = save_sso(&app).await?;
        ensure!(kind == "saved", "{kind}: {words}");
        app.wait_attr(&tid("sso-summary"), "data-enabled", "true", SHORT)
            .await?;
        let stored = owner.sso_settings().await?;
        ensure!(
            stored.issuer == idp.issuer()
                && stored.client_secret_set
                && stored.auto_join
                && stored.password_sign_in
                && stored.allowed_domains == vec![domain.clone()],
            "stored: {stored:?}"
        );
        let secret = app.wait_element(&tid("sso-client-secret"), SHORT).await?;
        ensure!(
            secret.prop("value").await?.as_deref() == Some(""),
            "the secret field is emptied"
        );
        ensure!(secret.attr("data-stored").await?.as_deref() == Some("true"));
        save_window_png(&app.client, "sso-settings-desktop").await?;

        // Unlinked from the app.
        app.click(&tid("sso-unlink")).await?;
        app.click(&tid("sso-unlink-confirm")).await?;
        app.wait_attr(&tid("sso-summary"), "data-enabled", "false", MEDIUM)
            .await?;
        ensure!(
            !owner.sso_settings().await?.enabled,
            "unlinked at the service"
        );
        Ok(())
    }
    .await;
    app.finish("sso-settings", outcome).await
}

// ---- 12 ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display, tauri-driver, chromium, chromedriver, node and a Secret \
            Service; run by `cargo xtask test`"]
async fn a_member_signs_in_to_the_desktop_app_through_the_identity_provider() -> Result<()> {
    use support::browser::{ChromeDriver, sign_in_at_provider};

    let service = Service::start()?;
    let team = service.team("ssodesk", true).await?;
    let base = service.url();
    let idp = service.identity_provider(&team);
    // The owner links the workspace to the provider, through the API.
    // (The owner keeps password sign-in, R31.)
    let owner = service.sign_in(&team.owner).await?;
    service::link_provider(&owner, &team, &idp).await?;

    // The app hands the start URL to this file instead of opening a browser.
    let hook = tempfile::tempdir()?;
    let url_file = hook.path().join("sso-url");
    let app =
        DesktopApp::signed_out_with(&[("SHOTCLOCK_TEST_SSO_URL_FILE", url_file.clone().into())])
            .await?;
    let chrome = ChromeDriver::start()?;
    let outcome = async {
        let form = tid("sign-in");
        app.wait_element(&form, MEDIUM).await?;
        app.type_into(&format!("{form} input[name=server_url]"), &base)
            .await?;
        app.type_into(&format!("{form} input[name=email]"), &team.ana.email)
            .await?;
        app.click(&tid("sso-sign-in")).await?;
        app.wait_element(&tid("sso-waiting"), SHORT).await?;
        save_window_png(&app.client, "sign-in-sso-waiting").await?;
        let start = wait_for(SHORT, "the app to hand over the start URL", || async {
            std::fs::read_to_string(&url_file)
                .ok()
                .filter(|u| !u.is_empty())
        })
        .await?;
        ensure!(start.starts_with(&base), "the start URL is {start}");

        // The browser leg: the provider's own login page, then back to the app's loopback.
        let b = chrome.browser().await?;
        let leg = async {
            b.goto(&start).await?;
            sign_in_at_provider(&b, "ana-at-idp").await?;
            let said = wait_for(MEDIUM, "the app's page in the browser", || async {
                b.find(Locator::Css("[data-testid=sso-title]"))
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()
            })
            .await?;
            ensure!(
                said == "Signed in to Shotclock",
                "the browser says {said:?}"
            );
            let at = b.current_url().await?;
            ensure!(
                at.as_str().starts_with("http://127.0.0.1:") && !at.as_str().starts_with(&base),
                "the browser ended at {at}, not the app's loopback"
            );
            Ok(())
        }
        .await;
        let _ = b.close().await;
        leg?;
        app.wait_signed_in(&team.ana).await?;

        // The token went to the OS keyring like a password sign-in's (R3), not to a file.
        ensure!(
            !app.data_dir().join("session-token").exists(),
            "the token went to a file: no Secret Service answered in this D-Bus session"
        );
        ensure!(
            app.find(&tid("token-storage-note")).await.is_none(),
            "the app says the session is kept in a file"
        );
        Ok(())
    }
    .await;
    if outcome.is_err() {
        return app.finish("sso-desktop", outcome).await;
    }

    // Restarted with nothing in its environment: the kept session signs it in, and the timer
    // it starts captures.
    let app = app.restart().await?;
    let outcome = async {
        app.wait_signed_in(&team.ana).await?;
        app.open_section("timer").await?;
        app.type_into(&tid("timer-description"), "Signed in through SSO")
            .await?;
        app.click(&tid("timer-toggle")).await?;
        app.wait_attr(&tid("timer-toggle"), "data-running", "true", MEDIUM)
            .await?;
        wait_for(LONG, "a screenshot of Ana's at the service", || async {
            let shots = screenshots_today(&owner, &team.ana).await.ok()?;
            (!shots.is_empty()).then_some(())
        })
        .await?;
        app.click(&tid("timer-toggle")).await?;
        app.wait_attr(&tid("timer-toggle"), "data-running", "false", MEDIUM)
            .await?;
        Ok(())
    }
    .await;
    app.finish("sso-desktop-restart", outcome).await
}

// ---- the harness ---------------------------------------------------------------------------------

/// A WebDriver server on a real port that reads one request and then either closes the
/// connection without a word or answers `answer` (a whole HTTP response).
fn one_shot_server(answer: Option<String>) -> Result<String> {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || -> std::io::Result<()> {
        let (stream, _) = listener.accept()?;
        let mut reader = BufReader::new(stream);
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        reader.read_exact(&mut vec![0; length])?;
        if let Some(answer) = answer {
            reader.get_mut().write_all(answer.as_bytes())?;
        }
        Ok(())
    });
    Ok(url)
}

#[tokio::test]
async fn a_launch_is_tried_again_only_when_the_request_got_no_answer() -> Result<()> {
    // The chain closes the connection (what tauri-driver does when WebKitWebDriver goes away).
    let dropped = support::app_session(&one_shot_server(None)?).await;
    let e = dropped
        .err()
        .context("a session over a dropped connection")?;
    ensure!(support::request_lost(&e), "not told as lost: {e:#}");

    // Nothing listens at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let e = support::app_session(&format!("http://{closed}"))
        .await
        .err()
        .context("a session with nothing listening")?;
    ensure!(support::request_lost(&e), "not told as lost: {e:#}");

    // An answer, even a refusal, is the app's or the driver's word: not tried again.
    let body = r#"{"value":{"error":"session not created","message":"no window","stacktrace":""}}"#;
    let refusal = format!(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let e = support::app_session(&one_shot_server(Some(refusal))?)
        .await
        .err()
        .context("a session the server refused")?;
    ensure!(!support::request_lost(&e), "a refusal told as lost: {e:#}");
    Ok(())
}
