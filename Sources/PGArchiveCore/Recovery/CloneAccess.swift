import Foundation
import Logging

/// Who may log in to a clone. A clone holds a copy of the upstream's data with the roles and
/// passwords of the snapshot's time, and a superuser of a clone can run programs as the service
/// user (`COPY … TO PROGRAM`), which reaches every container on the host and the `.pgpass`
/// with the upstream's credentials. So by default a clone admits only the service user, through
/// its socket in the container's 0700 `run/` (`peer`, mapped to `standby_user`); each
/// `clone create --allow ROLE[@CIDR]` opens it to one role with `scram-sha-256`, over SSL
/// when the address is not this machine's. Temporary clones (verify, dump) admit only the
/// service user.
public struct CloneAccessRule: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The role admitted (a role of the clone, i.e. of the upstream at the snapshot's time).
    public var role: String
    /// The client addresses, e.g. `10.1.2.0/24`; nil: this machine (127.0.0.1 and ::1).
    public var cidr: String?

    public init(role: String, cidr: String? = nil) {
        self.role = role
        self.cidr = cidr
    }

    /// Parses `ROLE` or `ROLE@ADDRESS[/BITS]` as `--allow` takes it.
    public init(parsing text: String) throws(PGArchiveError) {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let role = parts[0]
        guard !role.isEmpty, role.utf8.count <= 63,
              role.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) && $0.isASCII || "_.-".unicodeScalars.contains($0) }) else {
            throw PGArchiveError("--allow '\(PGArchiveError.echo(text))': the role must be a name of letters, digits, '_', '.' or '-' (at most 63 bytes), e.g. --allow app_reader or --allow app_reader@10.1.2.0/24")
        }
        self.role = role
        if parts.count == 2 {
            guard let cidr = Self.normalizedCIDR(parts[1]) else {
                throw PGArchiveError("--allow '\(PGArchiveError.echo(text))': '\(PGArchiveError.echo(parts[1]))' is not an IP address or network such as 10.1.2.0/24, 192.0.2.7 or 2001:db8::/32")
            }
            self.cidr = cidr
        }
    }

    public var description: String { cidr.map { "\(role)@\($0)" } ?? role }

    /// An address with its prefix length (a plain address gets /32 or /128), or nil.
    static func normalizedCIDR(_ text: String) -> String? {
        let pieces = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let address = pieces[0]
        var v4 = in_addr()
        var v6 = in6_addr()
        let maxBits: Int
        if inet_pton(AF_INET, address, &v4) == 1 { maxBits = 32 } else if inet_pton(AF_INET6, address, &v6) == 1 { maxBits = 128 } else { return nil }
        if pieces.count == 2 {
            guard let bits = Int(pieces[1]), (0...maxBits).contains(bits), pieces[1].allSatisfy(\.isNumber) else { return nil }
            return "\(address)/\(bits)"
        }
        return "\(address)/\(maxBits)"
    }

    /// Whether the addresses are this machine's only (127.0.0.0/8 or ::1): then no SSL is needed.
    public var isLoopback: Bool {
        guard let cidr else { return true }
        let pieces = cidr.split(separator: "/").map(String.init)
        guard pieces.count == 2, let bits = Int(pieces[1]) else { return false }
        if pieces[0].contains(":") { return pieces[0] == "::1" && bits == 128 }
        return pieces[0].hasPrefix("127.") && bits >= 8
    }

    /// The pg_hba.conf lines for this rule.
    public var hbaLines: [String] {
        let role = CloneAccess.hbaQuote(self.role)
        guard let cidr else {
            return ["host    all             \(role)    127.0.0.1/32    scram-sha-256",
                    "host    all             \(role)    ::1/128         scram-sha-256"]
        }
        return ["\(isLoopback ? "host   " : "hostssl") all             \(role)    \(cidr)    scram-sha-256"]
    }
}

public enum CloneAccess {
    /// The name of the pg_ident.conf map that lets the service user in as `standby_user`.
    public static let identMap = "pgarchive"

    /// pg_hba.conf of a clone: the service user through the socket, plus one block per rule.
    public static func hbaFile(rules: [CloneAccessRule]) -> String {
        var text = """
            # Written by pgarchive. Only the service user may log in through the socket in the
            # container's 0700 run/ (peer, mapped to standby_user in pg_ident.conf); roles opened
            # with `pgarchive clone create --allow ROLE[@CIDR]` follow, with scram-sha-256.
            local   all             all                                     peer map=\(identMap)

            """
        for rule in rules {
            text += "# --allow \(rule)\n" + rule.hbaLines.joined(separator: "\n") + "\n"
        }
        return text
    }

    /// pg_ident.conf of a clone: the service user may log in as `standbyUser` (and as itself).
    public static func identFile(serviceUser: String, standbyUser: String) -> String {
        var text = "# Written by pgarchive: the service user logs in to clones as standby_user.\n"
        text += "\(identMap)    \(hbaQuote(serviceUser))    \(hbaQuote(standbyUser))\n"
        if serviceUser != standbyUser { text += "\(identMap)    \(hbaQuote(serviceUser))    \(hbaQuote(serviceUser))\n" }
        return text
    }

    /// A name for pg_hba.conf/pg_ident.conf: double-quoted unless plain lower-case (quoting also
    /// takes keywords such as `all` their special meaning).
    static func hbaQuote(_ name: String) -> String {
        let plain = !name.isEmpty && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
            && !["all", "sameuser", "samerole", "samegroup", "replication"].contains(name)
        return plain ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The name of the user running pgarchive (the service user).
    public static var serviceUser: String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "postgres"
    }

    /// Refuses rules that could never admit anyone with these listen addresses, naming the fix.
    public static func validate(_ rules: [CloneAccessRule], listenAddresses: String) throws(PGArchiveError) {
        guard !rules.isEmpty else { return }
        if listenAddresses.trimmingCharacters(in: .whitespaces).isEmpty {
            throw PGArchiveError("--allow \(rules[0]): clones listen on no TCP address (clone_listen_addresses = ''), so no role can log in over the network; set clone_listen_addresses = 'localhost' (or wider) in pgarchive.conf first")
        }
        if let remote = rules.first(where: { !$0.isLoopback }), !ListenAddresses.includesNonLoopback(listenAddresses) {
            throw PGArchiveError("--allow \(remote): clones listen on \(listenAddresses) only (clone_listen_addresses), so \(remote.cidr ?? "") cannot reach them; set clone_listen_addresses = '*' (or the addresses to listen on) in pgarchive.conf first")
        }
    }
}

extension CloneAccess {
    /// `ssl = on` when a rule admits addresses off this machine (its pg_hba line is `hostssl`)
    /// and the clone has a certificate (`server.crt` and `server.key`, as the upstream's data
    /// directory had them); without one, a warning saying how to add one: until then the rule
    /// admits nobody.
    static func sslSettings(dataDirectory: String, rules: [CloneAccessRule], logger: Logger) -> [(String, String)] {
        guard let remote = rules.first(where: { !$0.isLoopback }) else { return [] }
        let fm = FileManager.default
        if fm.fileExists(atPath: dataDirectory + "/server.crt") && fm.fileExists(atPath: dataDirectory + "/server.key") {
            return [("ssl", "on")]
        }
        logger.warning("--allow \(remote) admits SSL connections only, and the clone has no server certificate: copy server.crt and server.key (mode 0600) into the clone's directory (clones/NAME/), run `ALTER SYSTEM SET ssl = on` in it and restart it (`pgarchive clone restart`); until then only the service user and loopback rules get in")
        return []
    }
}
