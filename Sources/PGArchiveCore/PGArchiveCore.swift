import Postgres
import Btrfs
