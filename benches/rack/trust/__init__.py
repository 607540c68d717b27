"""The bench's CA on the phones: named as Android names CA files, installed over adb."""
