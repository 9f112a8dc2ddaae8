/* placeholder replaced by the CLI implementation (host work package) */
int main(void) { return 0; }
