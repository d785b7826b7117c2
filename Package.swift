// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "pgarchive",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pgarchive", targets: ["pgarchive"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // The executable: a thin main that runs the command tree.
        .executableTarget(name: "pgarchive", dependencies: ["PGArchiveCommands"]),
        // The command tree: it only parses the command line, calls into PGArchiveCore and
        // prints. A library, so tests parse argv in-process.
        .target(
            name: "PGArchiveCommands",
            dependencies: [
                "PGArchiveCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The domain: containers, WAL archive, standby, snapshots, clones, retention.
        .target(
            name: "PGArchiveCore",
            dependencies: [
                "Postgres", "Btrfs", "WALCodec",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // libpq wrapper and the PostgreSQL tools as typed commands.
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Compression of whole WAL files (zstd, lz4, gzip) and their POSIX file I/O: the only
        // target that links libzstd, liblz4 and zlib.
        .target(name: "WALCodec", dependencies: ["Postgres", "CZstd", "CLZ4", "CZlib"]),
        // libbtrfsutil wrapper.
        .target(name: "Btrfs", dependencies: ["CBtrfsUtil"]),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CBtrfsUtil",
            pkgConfig: "libbtrfsutil",
            providers: [.apt(["libbtrfsutil-dev"])]
        ),
        // Compression of completed WAL segments (zstd by default; lz4 and gzip on request).
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Fixtures for the integration tests: throwaway upstream, scratch btrfs, the built binary.
        .target(
            name: "PGArchiveTestSupport",
            dependencies: ["Postgres", "Btrfs", "PGArchiveCore"]
        ),
        .testTarget(
            name: "PGArchiveCoreTests",
            dependencies: ["PGArchiveCore", "Postgres", "Btrfs", "WALCodec"],
            resources: [.copy("Fixtures")]
        ),
        // The command line parsed in-process: argv, validation errors, the command table.
        .testTarget(
            name: "PGArchiveCommandsTests",
            dependencies: [
                "PGArchiveCommands", "PGArchiveCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["PGArchiveTestSupport", "PGArchiveCommands", "PGArchiveCore", "Postgres", "Btrfs"]
        ),
    ]
)
