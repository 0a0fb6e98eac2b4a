// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/replay.c - run the fuzz target once over every file of a
 * corpus directory, so that the seed corpus is an ordinary test under any
 * compiler (no libFuzzer needed).
 *
 * Usage: fuzz_replay DIR [FILE...]; exits 1 if DIR holds no input.  A
 * failing input aborts inside LLVMFuzzerTestOneInput(), naming the check.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read @path whole and feed it to the target; returns 0 or -1. */
static int replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!fp) {
		perror(path);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap);
			if (!buf) {
				fclose(fp);
				return -1;
			}
		}
		n = fread(buf + len, 1, cap - len, fp);
		if (n == 0)
			break;
		len += n;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct dirent **names;
	char path[4096];
	int i, n, done = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR [FILE...]\n", argv[0]);
		return 2;
	}
	n = scandir(argv[1], &names, NULL, alphasort);
	if (n < 0) {
		perror(argv[1]);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", argv[1],
				 names[i]->d_name);
			if (replay_file(path) == 0)
				done++;
			else
				return 1;
		}
		free(names[i]);
	}
	free(names);
	for (i = 2; i < argc; i++) {
		if (replay_file(argv[i]))
			return 1;
		done++;
	}
	printf("fuzz-corpus-replay: %d inputs replayed, all consistent\n",
	       done);
	return done > 0 ? 0 : 1;
}
