import ArgumentParser
import Foundation
import PGArchiveCore

struct MetricsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print Prometheus metrics of a container, or of every container under --root.",
        discussion: """
            The text exposition format, one set of gauges per container (label container="PATH"), \
            for node_exporter's textfile collector: run it from cron with \
            --output /var/lib/prometheus/node-exporter/pgarchive.prom; the file is replaced \
            atomically. Reads the same facts as `container status`; changes nothing, takes no lock. \
            With --root, a container that cannot be read is reported as pgarchive_up 0 and \
            named on stderr. MANUAL.md lists every metric.

            Examples:
              pgarchive metrics
              pgarchive metrics --root /srv/pgarchive \\
                  --output /var/lib/prometheus/node-exporter/pgarchive.prom
            """)

    @OptionGroup var options: ContainerOptions

    @Option(help: ArgumentHelp("Report every container in this directory (each subdirectory holding a pgarchive.conf).", valueName: "dir"),
            completion: .directory)
    var root: String?

    @Option(help: ArgumentHelp("Write the metrics to this file, atomically (temporary file in the same directory, then rename), instead of stdout.", valueName: "file"),
            completion: .file(extensions: ["prom"]))
    var output: String?

    func run() async throws {
        try options.startup()
        let sources: [ContainerMetrics.Source]
        if let root {
            if let container = options.container, !container.isEmpty {
                throw PGArchiveError("give either --root DIR or --container/-C PATH, not both")
            }
            let paths = try ContainerMetrics.containers(under: root)
            if paths.isEmpty {
                warn("no container (a directory with pgarchive.conf) in \(ContainerLayout(root: root).root)")
            }
            sources = ContainerMetrics.collect(paths)
            for source in sources {
                if let error = source.error {
                    warn("\(source.path): \(error)")
                }
            }
        } else {
            let source = ContainerMetrics.collect(path: try options.containerPath())
            if let error = source.error { throw PGArchiveError(error) }
            sources = [source]
        }
        let text = ContainerMetrics.render(sources)
        if let output {
            try ContainerMetrics.write(text, to: output)
        } else {
            print(text, terminator: "")
        }
    }
}
