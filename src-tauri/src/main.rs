// Hide the console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    // Before any other thread starts: fewer malloc arenas, large blocks given back when freed.
    shotclock_heap::tune_for_idle();
    // Also before other threads: the environment the web processes start with.
    shotclock_lib::prepare_engine();
    shotclock_lib::init_logging();
    match shotclock_lib::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("shotclock stopped: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
