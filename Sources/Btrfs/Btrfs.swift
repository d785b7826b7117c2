import CBtrfsUtil
