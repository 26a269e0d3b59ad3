/* main.c - the saccade command (under construction in this commit). */
#include <stdio.h>
int main(void) { puts("saccade " SACCADE_VERSION); return 0; }
