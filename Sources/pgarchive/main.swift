import PGArchiveCommands

// The executable is only this: the command tree, its parsing and the work behind it live
// in PGArchiveCommands and PGArchiveCore, where tests can reach them.
await PGArchiveCommand.execute()
