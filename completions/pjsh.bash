# bash completion for the pjsh command's own options.
# Install: source this file from ~/.bashrc, or copy it to
# ~/.local/share/bash-completion/completions/pjsh.

_pjsh() {
    local cur prev i word
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev=""
    if [ "$COMP_CWORD" -gt 0 ]; then
        prev="${COMP_WORDS[COMP_CWORD-1]}"
    fi
    COMPREPLY=()

    # Once a command (-c) or a script has been given, the rest belongs to it, not to pjsh.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        case "${word,,}" in
            -c|-command|-h|--help|--version)
                return 0 ;;
            -file)
                if ((i + 1 < COMP_CWORD)); then
                    compopt -o default 2>/dev/null
                    return 0
                fi ;;
            -*) ;;
            *)
                compopt -o default 2>/dev/null
                return 0 ;;
        esac
    done

    case "${prev,,}" in
        -c|-command)
            return 0 ;;
    esac

    if [[ "$cur" == -* ]]; then
        local opts="-c -Command -File -NoProfile -NonInteractive --version -h --help"
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
        return 0
    fi

    # A script file: *.ps1, plus directories to walk into.
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -X '!*.ps1' -- "$cur"; compgen -d -- "$cur")
}

complete -F _pjsh pjsh
