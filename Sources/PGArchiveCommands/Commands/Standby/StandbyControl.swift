import ArgumentParser
import Foundation
import PGArchiveCore

/// Runs one pg_ctl action on the standby with the arguments after `--` passed through;
/// start, stop and restart change what runs, so the command table gives them the container
/// lock (the watchdog would otherwise restart a standby being stopped).
func controlStandby(_ operation: ContainerOperation, _ action: StandbyControlAction, options: ContainerOptions,
                    extra: PgCtlArguments) async throws {
    let code = try await options.run(operation) { try await $0.controlStandby(action, extra: extra.arguments) }
    if code != 0 { throw ExitCode(code) }
}
